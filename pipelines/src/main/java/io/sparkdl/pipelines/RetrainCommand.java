package io.sparkdl.pipelines;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.registry.RegistryLock;
import io.sparkdl.retrain.DateLake;
import io.sparkdl.retrain.RetrainListener;
import io.sparkdl.retrain.RetrainOutcome;
import io.sparkdl.retrain.RetrainPolicy;
import io.sparkdl.retrain.Retrainer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.IOException;

/**
 * {@code spark-dl retrain}: the nightly job, the library's {@link Retrainer} with its inputs from the command
 * line. The template is a CnnClassifier ({@code --arch}, default LeNet at 28x28x1) or the training half of a
 * pipeline definition ({@code --definition}); the training options are the classifier's params, set on the
 * template's classifier through {@link ParamOptions} as for {@code train}.
 */
@Command(name = "retrain", description = "The nightly job: warm-start a challenger from the registry's champion "
        + "on the lake partitions newer than its watermark (plus a replayed share of older ones), evaluate both on "
        + "the holdout, write a version and promote the challenger when it is better. Crash-safe; a re-run "
        + "resumes an interrupted run.")
final class RetrainCommand extends Job {
    /** Fault injection for crash tests: halt the JVM (as SIGKILL would) at the named step. */
    static final String HALT_ENV = "SPARK_DL_RETRAIN_HALT_AT";
    /** Exit code of a run that found the registry locked by another (EX_TEMPFAIL, as flock -n callers use). */
    static final int LOCKED = 75;

    /** Receives the training options; what the command line gave is copied onto the template's classifier. */
    private final CnnClassifier given = new CnnClassifier();

    @Option(names = "--lake", required = true, paramLabel = "DIR", description = "The lake: one ingest_date=YYYY-MM-DD "
            + "partition per day, each a class-per-folder image tree, or a Parquet table partitioned that way.")
    String lake;
    @Option(names = "--registry", required = true, paramLabel = "DIR", description = "The model registry.")
    String registry;
    @Option(names = "--holdout", required = true, paramLabel = "DIR", description = "Labelled images both models "
            + "are evaluated on.")
    String holdout;
    @Option(names = "--min-improvement", paramLabel = "X", defaultValue = "0.001", description = "Holdout accuracy "
            + "the challenger must gain to be promoted (default: ${DEFAULT-VALUE}).")
    double minImprovement;
    @Option(names = "--replay-fraction", paramLabel = "F", defaultValue = "0.2", description = "Share of older "
            + "partitions replayed, in [0, 1] (default: ${DEFAULT-VALUE}).")
    double replayFraction;
    @Option(names = {"--frozen-layers", "--freeze-layers"}, paramLabel = "N", defaultValue = "0", description =
            "Keep the champion's first N layers fixed (default: ${DEFAULT-VALUE}).")
    int frozenLayers;
    @Option(names = "--arch", paramLabel = "NAME|FILE", description = "The template's network: a built-in name or "
            + "a JSON file (default: lenet).")
    String arch;
    @Option(names = "--definition", paramLabel = "FILE", description = "Train what a pipeline definition's training "
            + "half describes (decoder, normaliser, classifier) instead of --arch.")
    String definition;
    @Option(names = "--resume", description = "Continue the registry's interrupted run (a plain re-run does too).")
    boolean resume;
    @Mixin
    final SharedOptions.Master master = new SharedOptions.Master();
    @Mixin
    final SharedOptions.MetricsJson metricsJson = new SharedOptions.MetricsJson();
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    @Override
    void addParamOptions(CommandSpec spec) {
        String template = "the template's: --definition's, else ";
        params.addAs(spec, given, "epochs", "epochs", template + "3")
                .addAs(spec, given, "batchSize", "batch-size", template + "64")
                .addAs(spec, given, "learningRate", "learning-rate", template + "1e-3")
                .addAs(spec, given, "seed", "seed", template + "42")
                .add(spec, given, "numWorkers", new String[]{"--workers"})
                .addAs(spec, given, "height", "height", "the arch's input, else 28")
                .addAs(spec, given, "width", "width", "the arch's input, else 28")
                .addAs(spec, given, "channels", "channels", "the arch's input, else 1");
    }

    @Override
    public Integer call() throws IOException {
        params.apply();
        String lakePath = lake.replaceAll("/+$", "");
        String holdoutDir = Jobs.existingDir(holdout, "--holdout");
        RetrainPolicy policy;
        try {
            policy = new RetrainPolicy(minImprovement, replayFraction, frozenLayers,
                    given.isSet(given.seed()) ? given.getSeed() : 42L);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Estimator<?> template = template();
        SparkSession spark = Jobs.session(master.value, "spark-dl retrain");
        try {
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            if (!HadoopFiles.exists(lakePath, hc)) {
                throw new UsageException("--lake " + lakePath + " does not exist");
            }
            OutputPaths outputs = new OutputPaths("retrain", overwrite.value, hc).input("--lake", lakePath)
                    .input("--holdout", holdoutDir).output("--registry", registry, OutputPaths.Kind.REGISTRY)
                    .output("--metrics-json", metricsJson.value, OutputPaths.Kind.METRICS).check();
            Retrainer retrainer = new Retrainer(spark, template).setLake(DateLake.at(spark, lakePath))
                    .setRegistry(registry).setHoldout(holdoutDir).setPolicy(policy)
                    .setRequireInterruptedRun(resume).setListener(haltAt(System.getenv(HALT_ENV)));
            RetrainOutcome outcome;
            try {
                outcome = retrainer.run();
            } catch (RegistryLock.HeldException e) {
                System.err.println("spark-dl retrain: " + e.getMessage());
                return LOCKED;
            }
            System.out.println(outcome);
            Jobs.writeMetrics(metricsJson.value, outputs, outcome.toMap());
            return 0;
        } finally {
            spark.stop();
        }
    }

    /**
     * The template: a pipeline definition's, or a CnnClassifier of {@code --arch} (LeNet at its 28x28x1 input by
     * default, 3 epochs of Adam at 1e-3 in minibatches of 64, seed 42); the training options given override either.
     */
    private Estimator<?> template() throws IOException {
        CnnClassifier cnn;
        Estimator<?> template;
        if (definition != null) {
            for (String o : new String[]{"--height", "--width", "--channels"}) {
                if (params.given(o)) {
                    throw new UsageException(o + " and --definition: the definition names the image size; "
                            + "give one of the two");
                }
            }
            if (arch != null) {
                throw new UsageException("--arch and --definition: the definition names the architecture; "
                        + "give one of the two");
            }
            Pipeline p = PipelineDefinition.template(definition);
            PipelineStage[] stages = p.getStages();
            cnn = (CnnClassifier) stages[stages.length - 1];
            template = p;
        } else {
            String network = TrainCommand.archText(arch != null ? arch : "lenet");
            int[] input = NetworkSpec.parse(network).defaultInput();
            cnn = new CnnClassifier().setArch(network).setHeight(input != null ? input[0] : 28)
                    .setWidth(input != null ? input[1] : 28).setChannels(input != null ? input[2] : 1)
                    .setEpochs(3).setBatchSize(64).setLearningRate(1e-3).setSeed(42);
            template = cnn;
        }
        for (Param<?> p : params.givenParams(given)) {
            cnn.set(cnn.getParam(p.name()), given.getOrDefault(p));
        }
        return template;
    }

    /** Halts the JVM (as SIGKILL would: no shutdown hooks) when the run reaches the named step. */
    private static RetrainListener haltAt(String step) {
        return (reached, version) -> {
            if (reached.id().equals(step)) {
                System.err.println("retrain: halting at '" + step + "' of " + version + " (" + HALT_ENV + ")");
                System.err.flush();
                Runtime.getRuntime().halt(137);
            }
        };
    }
}
