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
import org.apache.spark.sql.SparkSession;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;

/**
 * {@code spark-dl retrain}: the nightly job, {@link Retrainer} with its options from the command line. The
 * template is a CnnClassifier ({@code --arch}, default LeNet at 28x28x1: {@code --height/--width/--channels})
 * or the training half of a pipeline definition ({@code --definition pipelines/X.json}).
 */
final class Retrain {
    static final Set<String> OPTIONS = Set.of("lake", "registry", "holdout", "epochs", "min-improvement",
            "replay-fraction", "frozen-layers", "freeze-layers", "master", "seed", "workers", "batch-size",
            "learning-rate", "metrics-json", "arch", "height", "width", "channels", "definition");
    /** Fault injection for crash tests: halt the JVM (as SIGKILL would) at the named step. */
    static final String HALT_ENV = "SPARK_DL_RETRAIN_HALT_AT";
    /** Exit code of a run that found the registry locked by another (EX_TEMPFAIL, as flock -n callers use). */
    static final int LOCKED = 75;

    private Retrain() {
    }

    static int run(CliArgs a) throws IOException {
        String lake = a.required("lake").replaceAll("/+$", "");
        String registry = a.required("registry");
        String holdout = SparkDl.existingDir(a.required("holdout"), "--holdout");
        RetrainPolicy policy = policy(a);
        Estimator<?> template = template(a);
        SparkSession spark = SparkDl.session(a, "spark-dl retrain");
        try {
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            if (!HadoopFiles.exists(lake, hc)) {
                throw new CliArgs.UsageException("--lake " + lake + " does not exist");
            }
            OutputPaths outputs = new OutputPaths("retrain", a.has("overwrite"), hc).input("--lake", lake)
                    .input("--holdout", holdout).output("--registry", registry, OutputPaths.Kind.REGISTRY)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS).check();
            Retrainer retrainer = new Retrainer(spark, template).setLake(DateLake.at(spark, lake))
                    .setRegistry(registry).setHoldout(holdout).setPolicy(policy)
                    .setRequireInterruptedRun(a.has("resume")).setListener(haltAt(System.getenv(HALT_ENV)));
            RetrainOutcome outcome;
            try {
                outcome = retrainer.run();
            } catch (RegistryLock.HeldException e) {
                System.err.println("spark-dl retrain: " + e.getMessage());
                return LOCKED;
            }
            System.out.println(outcome);
            SparkDl.writeMetrics(a, outputs, outcome.toMap());
            return 0;
        } finally {
            spark.stop();
        }
    }

    private static RetrainPolicy policy(CliArgs a) {
        if (a.has("frozen-layers") && a.has("freeze-layers")) {
            throw new CliArgs.UsageException("--freeze-layers is the old name of --frozen-layers; give one");
        }
        String frozen = a.has("freeze-layers") ? "freeze-layers" : "frozen-layers";
        try {
            return new RetrainPolicy(a.getDouble("min-improvement", 0.001), a.getDouble("replay-fraction", 0.2),
                    a.getInt(frozen, 0, 0), a.getLong("seed", 42));
        } catch (IllegalArgumentException e) {
            throw new CliArgs.UsageException(e.getMessage());
        }
    }

    /** The template: a pipeline definition's, or a CnnClassifier; the training options override either. */
    private static Estimator<?> template(CliArgs a) throws IOException {
        CnnClassifier cnn;
        Estimator<?> template;
        if (a.has("definition")) {
            for (String o : List.of("arch", "height", "width", "channels")) {
                if (a.has(o)) {
                    throw new CliArgs.UsageException("--" + o + " and --definition: the definition names the "
                            + "architecture and image size; give one of the two");
                }
            }
            Pipeline p = PipelineDefinition.template(a.get("definition", null));
            PipelineStage[] stages = p.getStages();
            cnn = (CnnClassifier) stages[stages.length - 1];
            template = p;
        } else {
            String arch = arch(a.get("arch", "lenet"));
            int[] input = NetworkSpec.parse(arch).defaultInput();
            cnn = new CnnClassifier().setArch(arch)
                    .setHeight(a.getInt("height", input != null ? input[0] : 28, 1))
                    .setWidth(a.getInt("width", input != null ? input[1] : 28, 1))
                    .setChannels(a.getInt("channels", input != null ? input[2] : 1, 1))
                    .setEpochs(3).setBatchSize(64).setLearningRate(1e-3).setSeed(42);
            template = cnn;
        }
        if (a.has("epochs")) {
            cnn.setEpochs(a.getInt("epochs", 0, 1));
        }
        if (a.has("batch-size")) {
            cnn.setBatchSize(a.getInt("batch-size", 0, 1));
        }
        if (a.has("learning-rate")) {
            cnn.setLearningRate(a.getDouble("learning-rate", 0));
        }
        if (a.has("workers")) {
            cnn.setNumWorkers(a.getInt("workers", 0, 0));
        }
        if (a.has("seed")) {
            cnn.setSeed(a.getLong("seed", 0));
        }
        return template;
    }

    /** A built-in architecture's name, or the JSON of an architecture file. */
    private static String arch(String arch) throws IOException {
        if (NetworkSpec.builtIns().contains(arch.toLowerCase(java.util.Locale.ROOT))) {
            return arch;
        }
        File f = new File(arch);
        if (!f.isFile()) {
            throw new CliArgs.UsageException("--arch must be one of " + NetworkSpec.builtIns() + " or a JSON file, but "
                    + arch + " is neither");
        }
        return Files.readString(f.toPath(), StandardCharsets.UTF_8);
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
