package io.sparkdl.pipelines;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code spark-dl retrain}: the nightly job ({@link Retrain}, over the library's Retrainer). The options are
 * read here and handed to {@code Retrain.run} as its argument list, which checks and defaults them.
 */
@Command(name = "retrain", description = "The nightly job: warm-start a challenger from the registry's champion "
        + "on the lake partitions newer than its watermark (plus a replayed share of older ones), evaluate both on "
        + "the holdout, write a version and promote the challenger when it is better. Crash-safe; a re-run "
        + "resumes an interrupted run.")
final class RetrainCommand extends Job {
    @Option(names = "--lake", required = true, paramLabel = "DIR", description = "The lake: one partition folder "
            + "per day, each a class-per-folder image tree.")
    String lake;
    @Option(names = "--registry", required = true, paramLabel = "DIR", description = "The model registry.")
    String registry;
    @Option(names = "--holdout", required = true, paramLabel = "DIR", description = "Labelled images both models "
            + "are evaluated on.")
    String holdout;
    @Option(names = "--epochs", paramLabel = "N", description = "Epochs of the challenger (default: 3).")
    String epochs;
    @Option(names = "--min-improvement", paramLabel = "X", description = "Holdout accuracy the challenger must gain "
            + "to be promoted (default: 0.001).")
    String minImprovement;
    @Option(names = "--replay-fraction", paramLabel = "F", description = "Share of older partitions replayed, in "
            + "[0, 1] (default: 0.2).")
    String replayFraction;
    @Option(names = {"--frozen-layers", "--freeze-layers"}, paramLabel = "N", description = "Keep the champion's "
            + "first N layers fixed (default: 0).")
    String frozenLayers;
    @Option(names = "--seed", paramLabel = "N", description = "Random seed (default: 42).")
    String seed;
    @Option(names = {"--num-workers", "--workers"}, paramLabel = "N", description = "Data-parallel workers.")
    String numWorkers;
    @Option(names = "--batch-size", paramLabel = "N", description = "Minibatch size per worker.")
    String batchSize;
    @Option(names = "--learning-rate", paramLabel = "X", description = "Learning rate.")
    String learningRate;
    @Option(names = "--arch", paramLabel = "NAME|FILE", description = "The template's network: a built-in name or "
            + "a JSON file (default: lenet).")
    String arch;
    @Option(names = "--height", paramLabel = "H", description = "The template's input height (default: the arch's).")
    String height;
    @Option(names = "--width", paramLabel = "W", description = "The template's input width (default: the arch's).")
    String width;
    @Option(names = "--channels", paramLabel = "1|3", description = "The template's input channels (default: the "
            + "arch's).")
    String channels;
    @Option(names = "--definition", paramLabel = "FILE", description = "Train what a pipeline definition's training "
            + "half describes (decoder, normaliser, classifier) instead of --arch.")
    String definition;
    @Option(names = "--resume", description = "Continue the registry's interrupted run (a plain re-run does too).")
    boolean resume;
    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark.master, else local[*]).")
    String master;
    @Option(names = "--metrics-json", paramLabel = "FILE", description = "Write the run's metrics as JSON.")
    String metricsJson;
    @Option(names = "--overwrite", description = "Replace a metrics file that spark-dl wrote before.")
    boolean overwrite;

    @Override
    public Integer call() throws IOException {
        List<String> argv = new ArrayList<>();
        add(argv, "lake", lake);
        add(argv, "registry", registry);
        add(argv, "holdout", holdout);
        add(argv, "epochs", epochs);
        add(argv, "min-improvement", minImprovement);
        add(argv, "replay-fraction", replayFraction);
        add(argv, "frozen-layers", frozenLayers);
        add(argv, "arch", arch);
        add(argv, "height", height);
        add(argv, "width", width);
        add(argv, "channels", channels);
        add(argv, "definition", definition);
        add(argv, "seed", seed);
        add(argv, "workers", numWorkers);
        add(argv, "batch-size", batchSize);
        add(argv, "learning-rate", learningRate);
        add(argv, "master", master);
        add(argv, "metrics-json", metricsJson);
        if (resume) {
            argv.add("--resume");
        }
        if (overwrite) {
            argv.add("--overwrite");
        }
        return Retrain.run(new CliArgs(argv.toArray(new String[0]), 0, Retrain.OPTIONS, Set.of("resume", "overwrite")));
    }

    private static void add(List<String> argv, String name, String value) {
        if (value != null) {
            argv.add("--" + name);
            argv.add(value);
        }
    }
}
