package io.sparkdl.pipelines;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.sparkdl.pipelines.SparkDlCliTest.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line itself (picocli, the param mapping, definitions, spark-defaults): no job runs here but one. */
class CommandLineTest {
    @TempDir
    Path tmp;

    static final List<String> COMMANDS = List.of("train", "evaluate", "predict", "cluster", "explain", "run",
            "retrain", "export-idx");

    /** Runs a command line and returns what it printed on stdout; asserts the exit code. */
    static String out(int expectedCode, String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            assertEquals(expectedCode, SparkDl.run(args), String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    static String usageError(String... args) {
        return assertThrows(UsageException.class, () -> SparkDl.run(args), String.join(" ", args))
                .getMessage();
    }

    @Test
    void everyCommandHasHelpWithItsOptionsAndTheExitCodes() throws Exception {
        String top = out(0, "--help");
        for (String c : COMMANDS) {
            assertTrue(top.contains(c), "spark-dl --help lists " + c + ":\n" + top);
        }
        assertTrue(out(0, "help").contains("Usage: spark-dl"));
        for (String c : COMMANDS) {
            String help = out(0, c, "--help");
            assertTrue(help.contains("Usage: spark-dl " + c), help);
            assertTrue(help.contains("Exit codes:") && help.contains("75") && help.contains("bad command line"), help);
            assertEquals(help, out(0, c, "-h"));
        }
        // stage params: the option from the param's name, its doc, the stage's default
        String train = out(0, "train", "--help");
        CnnClassifier cnn = new CnnClassifier();
        for (Param<?> p : List.of(cnn.learningRate(), cnn.getParam("earlyStoppingPatience"),
                cnn.getParam("initialClasses"), cnn.getParam("numWorkers"), cnn.getParam("blockMomentum"),
                cnn.precision())) {
            String option = "--" + ParamOptions.kebab(p.name());
            assertTrue(train.contains(option), option + " in\n" + train);
            String firstWords = p.doc().substring(0, Math.min(25, p.doc().length()));
            assertTrue(train.contains(firstWords), firstWords + " in\n" + train);
        }
        assertTrue(train.contains("--learning-rate") && train.contains("(default: 0.001)"), train);
        assertTrue(train.contains("(default: keep)"), "initialClasses' default is the library's: " + train);
        assertTrue(train.contains("--early-stopping-patience=N") && train.contains("still accepted: --early-stopping")
                && !train.contains("--early-stopping=N"), "old names work but are listed once, as old names: " + train);
        String cluster = out(0, "cluster", "--help");
        assertTrue(cluster.contains("--max-iter") && cluster.contains("Maximum Lloyd iterations"), cluster);
        assertEquals(2, SparkDl.run(new String[0]), "no command: usage on stderr, exit 2");
    }

    @Test
    void aMistypedOptionOrCommandGetsASuggestion() {
        String epoch = usageError("train", "--data", data(), "--model", "x", "--epoch", "3");
        assertTrue(epoch.contains("unknown option --epoch") && epoch.contains("did you mean --epochs"), epoch);
        String lr = usageError("train", "--data", data(), "--model", "m", "--lerning-rate", "0.1");
        assertTrue(lr.contains("did you mean --learning-rate"), lr);
        String cmd = usageError("trian");
        assertTrue(cmd.contains("unknown command 'trian'") && cmd.contains("train"), cmd);
        String missing = usageError("evaluate", "--data", data());
        assertTrue(missing.contains("missing required option --model"), missing);
        assertFalse(missing.contains("\n"), "one line: " + missing);
    }

    @Test
    void badValuesAreRejectedByTheStagesValidatorWithTheParamsDoc() {
        String lr = usageError("train", "--data", data(), "--model", tmp.resolve("m").toString(),
                "--learning-rate", "-1");
        assertTrue(lr.startsWith("--learning-rate -1.0 is not valid: " + new CnnClassifier().learningRate().doc()), lr);
        String mu = usageError("train", "--data", data(), "--model", "m", "--block-momentum", "1.5");
        assertTrue(mu.startsWith("--block-momentum 1.5 is not valid: Momentum the driver"), mu);
        String k = usageError("cluster", "--data", data(), "--k", "1");
        assertTrue(k.startsWith("--k 1 is not valid: Number of clusters"), k);
        String format = usageError("cluster", "--data", data(), "--out", tmp.resolve("o").toString(), "--format", "json");
        assertTrue(format.startsWith("--format must be parquet or csv but was json"), format);
        assertFalse(Files.exists(tmp.resolve("o")));
        String epochs = usageError("train", "--data", data(), "--model", "m", "--epochs", "three");
        assertTrue(epochs.contains("--epochs must be an integer but was 'three'"), epochs);
        assertFalse(Files.exists(tmp.resolve("m")));
        // the checks across params are the classifier's, before Spark starts
        String patience = usageError("train", "--data", data(), "--model", "m", "--early-stopping-patience", "2");
        assertTrue(patience.contains("needs a validation set"), patience);
        String frozen = usageError("train", "--data", data(), "--model", "m", "--frozen-layers", "2");
        assertTrue(frozen.contains("frozenLayers = 2 needs initialModel"), frozen);
        String fp16 = usageError("train", "--data", data(), "--model", "m", "--precision", "fp16");
        assertTrue(fp16.startsWith("--precision fp16 is not valid: Arithmetic of training"), fp16);
        String bf16 = usageError("train", "--data", data(), "--model", "m", "--engine", "nd4j", "--precision", "bf16");
        assertTrue(bf16.contains("precision = bf16 needs engine = torch"), bf16);
    }

    @Test
    void seedsAreLongsAndOldOptionNamesStillWork() {
        TrainCommand t = SparkDl.parse(new TrainCommand(), List.of("--data", data(), "--model", "m",
                "--seed", "99999999999", "--workers", "3", "--freeze-layers", "0", "--early-stopping", "0",
                "--augment", "flip=horizontal"));
        t.configure();
        assertEquals(99999999999L, t.cnn.getSeed());
        assertEquals(3, t.cnn.getNumWorkers());
        assertEquals("flip=horizontal", t.cnn.getAugmentation());
        ClusterCommand c = SparkDl.parse(new ClusterCommand(), List.of("--data", data(), "--seed", "-7000000000"));
        c.params.apply();
        assertEquals(-7000000000L, c.kmeans.getSeed());
        assertTrue(usageError("cluster", "--data", data(), "--seed", "1x").contains("whole number"));
    }

    @Test
    void aParamGivenUnderTwoOfItsNamesIsAUsageErrorNamingBoth() {
        String[] train = {"train", "--data", data(), "--model", "m"};
        // the option and an old name, either order: before, the last one won unnoticed
        String w = usageError(with(train, "--num-workers", "4", "--workers", "2"));
        assertEquals("train: --num-workers 4 and --workers 2 (old name of --num-workers) both set numWorkers: give one"
                + " (spark-dl train --help lists the options)", w);
        String back = usageError(with(train, "--freeze-layers", "1", "--frozen-layers", "2"));
        assertTrue(back.startsWith("train: --freeze-layers 1 (old name of --frozen-layers) and --frozen-layers 2 both "
                + "set frozenLayers: give one"), back);
        // two old names of one param
        String two = usageError(with(train, "--ensemble", "3", "--combine", "mean", "--method", "vote"));
        assertTrue(two.startsWith("train: --combine mean (old name of --combination) and --method vote (old name of "
                + "--combination) both set combination: give one"), two);
        // the same value under two names is refused too, as picocli refuses one name given twice whatever the values
        String same = usageError(with(train, "--augmentation", "flip=horizontal", "--augment", "flip=horizontal"));
        assertTrue(same.contains("--augmentation flip=horizontal and --augment flip=horizontal (old name of "
                + "--augmentation) both set augmentation: give one"), same);
        for (String[] repeated : new String[][]{{"--epochs", "3", "--epochs", "5"}, {"--epochs", "3", "--epochs", "3"},
                {"--overwrite", "--overwrite"}}) {
            String r = usageError(with(train, repeated));
            assertTrue(r.startsWith("train: option '" + repeated[0] + "'") && r.contains("should be specified only once"),
                    r);
        }
        // retrain: a ParamOptions old name, and an option declared with two names
        String[] retrain = {"retrain", "--lake", "l", "--registry", "r", "--holdout", "h"};
        String rw = usageError(with(retrain, "--workers", "2", "--num-workers", "2"));
        assertTrue(rw.startsWith("retrain: --workers 2 (old name of --num-workers) and --num-workers 2 both set "
                + "numWorkers: give one"), rw);
        String rf = usageError(with(retrain, "--frozen-layers", "1", "--freeze-layers", "2"));
        assertTrue(rf.startsWith("retrain: option '--frozen-layers'") && rf.contains("should be specified only once"),
                rf);
        // --image-size sets height and width: not together with either
        String hw = usageError(with(train, "--height", "32", "--image-size", "64x64"));
        assertEquals("--image-size 64x64 and --height 32 both set height: give one (--image-size HxW, or --height H "
                + "--width W)", hw);
        String ww = usageError(with(train, "--image-size", "64x64", "--width", "64"));
        assertTrue(ww.startsWith("--image-size 64x64 and --width 64 both set width: give one"), ww);
        for (String e : List.of(w, back, two, same, rw, rf, hw, ww)) {
            assertFalse(e.contains("\n"), "one line: " + e);
        }
        // one name each still works, old or new
        TrainCommand t = SparkDl.parse(new TrainCommand(), List.of("--data", data(), "--model", "m", "--workers", "2",
                "--image-size", "32x24", "--channels", "1"));
        t.configure();
        assertEquals(2, t.cnn.getNumWorkers());
        assertEquals(32, t.cnn.getHeight());
        assertEquals(24, t.cnn.getWidth());
    }

    @Test
    void aDefinitionsImageSizeIsNotOverriddenByHalfOrContradictedByItsEstimator() throws Exception {
        Path f = tmp.resolve("size.json");
        Files.writeString(f, """
                {"source": {"data": "images"}, "outputs": {"model": "out/model"},
                 "preprocessing": {"imageSize": "28x28"},
                 "evaluation": {"data": "test"}}""");
        String h = assertThrows(UsageException.class, () -> PipelineDefinition.jobs(f.toString(),
                List.of("--height", "32"))).getMessage();
        assertEquals(f + ": preprocessing.imageSize 28x28 and --height 32 both set height: give one (override it "
                + "with --image-size HxW)", h);
        // --image-size overrides the file's; the evaluate step takes the train step's shared options
        List<Job> jobs = PipelineDefinition.jobs(f.toString(), List.of("--image-size", "32x32", "--master",
                "local[3]", "--overwrite", "--fail-on-bad-files"));
        TrainCommand t = (TrainCommand) jobs.get(0);
        assertEquals("32x32", t.imageSize);
        EvaluateCommand e = (EvaluateCommand) jobs.get(1);
        assertEquals("local[3]", e.master.value);
        assertTrue(e.overwrite.value && e.failOnBadFiles.value);
        Files.writeString(f, """
                {"source": {"data": "images"}, "outputs": {"model": "out/model"},
                 "preprocessing": {"imageSize": "28x28"}, "estimator": {"type": "CnnClassifier", "width": 32}}""");
        String w = assertThrows(UsageException.class, () -> PipelineDefinition.jobs(f.toString(), List.of()))
                .getMessage();
        assertEquals(f + ": preprocessing.imageSize 28x28 and estimator.width 32 both set width: give one", w);
    }

    private static String[] with(String[] a, String... more) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(more));
        return all.toArray(new String[0]);
    }

    @Test
    void optionsSharedByCommandsAreDefinedOnceWithOneMeaning() {
        Map<String, List<String>> sharing = Map.of(
                "--master", List.of("train", "evaluate", "predict", "cluster", "explain", "retrain"),
                "--overwrite", List.of("train", "evaluate", "predict", "cluster", "explain", "retrain", "export-idx"),
                "--fail-on-bad-files", List.of("train", "evaluate", "predict", "cluster"),
                "--metrics-json", List.of("train", "evaluate", "predict", "cluster", "retrain"),
                "--report-dir", List.of("train", "evaluate", "cluster"));
        CommandLine top = SparkDl.commandLine();
        for (Map.Entry<String, List<String>> e : sharing.entrySet()) {
            Set<List<String>> descriptions = new HashSet<>();
            for (String c : e.getValue()) {
                CommandLine.Model.OptionSpec o = top.getSubcommands().get(c).getCommandSpec().findOption(e.getKey());
                assertTrue(o != null, c + " has " + e.getKey());
                descriptions.add(List.of(o.description()));
                assertTrue(o.userObject() instanceof java.lang.reflect.Field f
                        && f.getDeclaringClass().getEnclosingClass() == SharedOptions.class,
                        c + " " + e.getKey() + " comes from SharedOptions: " + o.userObject());
            }
            assertEquals(1, descriptions.size(), e.getKey() + " reads the same on every command: " + descriptions);
        }
        // the values reach the commands
        TrainCommand t = SparkDl.parse(new TrainCommand(), List.of("--data", data(), "--model", "m", "--master",
                "local[3]", "--overwrite", "--fail-on-bad-files", "--metrics-json", "m.json", "--report-dir", "r"));
        assertEquals("local[3]", t.master.value);
        assertTrue(t.overwrite.value && t.failOnBadFiles.value);
        assertEquals("m.json", t.metricsJson.value);
        assertEquals("r", t.reportDir.value);
        PredictCommand p = SparkDl.parse(new PredictCommand(), List.of("--data", data(), "--model", "m", "--out", "o"));
        assertEquals(null, p.master.value);
        assertFalse(p.overwrite.value || p.failOnBadFiles.value);
    }

    @Test
    void whatIsNotGivenKeepsTheLibrarysDefaults() {
        TrainCommand t = SparkDl.parse(new TrainCommand(), List.of("--data", data(), "--model", "m"));
        t.configure();
        CnnClassifier fresh = new CnnClassifier();
        for (Param<?> p : fresh.params()) {
            if (!p.name().endsWith("Col") && fresh.hasDefault(p)) {
                assertEquals(fresh.getOrDefault(p), t.cnn.getOrDefault(t.cnn.getParam(p.name())), p.name());
            }
        }
    }

    @Test
    void sparkDefaultsAreReadAsSparkReadsThem() throws Exception {
        Path conf = tmp.resolve("spark-defaults.conf");
        Files.writeString(conf, """
                # comment
                spark.a.spaced      1
                spark.b.equals=2
                spark.c.colon: 3
                spark.d.tabbed\t4 5
                spark.e.set.already  6
                """);
        System.setProperty("spark.e.set.already", "from the command line");
        try {
            Map<String, String> d = Jobs.defaults(conf.toString());
            assertEquals(Map.of("spark.a.spaced", "1", "spark.b.equals", "2", "spark.c.colon", "3",
                    "spark.d.tabbed", "4 5"), d);
        } finally {
            System.clearProperty("spark.e.set.already");
        }
        assertTrue(Jobs.defaults(tmp.resolve("none.conf").toString()).isEmpty());
    }

    @Test
    void aPipelineDefinitionSetsParamsByTheirNames() throws Exception {
        Path f = tmp.resolve("def.json");
        Files.writeString(f, """
                {"source": {"data": "images"},
                 "estimator": {"type": "CnnClassifier", "epochs": 2, "initialModel": "base", "initialClasses": "replace",
                               "frozenLayers": 2, "seed": 12345678901, "blockMomentum": 0.5, "momentum": 0.8},
                 "ensemble": {"numMembers": 3, "combination": "vote"},
                 "outputs": {"model": "out/model"}}""");
        TrainCommand t = (TrainCommand) PipelineDefinition.jobs(f.toString(), List.of("--epochs", "1")).get(0);
        assertEquals("replace", t.cnn.getInitialClasses());
        assertEquals(2, t.cnn.getFrozenLayers());
        assertEquals(12345678901L, t.cnn.getSeed());
        assertEquals(tmp.resolve("base").toString(), t.cnn.getInitialModel(), "relative to the file");
        assertEquals(tmp.resolve("images").toString(), t.data);
        assertEquals(3, t.ensemble.getNumMembers());
        assertEquals("vote", t.ensemble.getCombination());
        assertTrue(t.isEnsemble());
        t.params.apply();
        assertEquals(1, t.cnn.getEpochs(), "the command line overrides the file");

        String[][] cases = {
            {"\"estimator\": {\"initialClass\": \"keep\"}", "unknown field estimator.initialClass for CnnClassifier"},
            {"\"estimator\": {\"earlyStopping\": 2}", "renamed: estimator.earlyStoppingPatience"},
            {"\"estimator\": {\"learningRate\": -1}", "estimator.learningRate -1.0 is not valid: Learning rate"},
            {"\"estimator\": {\"featuresCol\": \"x\"}", "unknown field estimator.featuresCol"},
            {"\"ensemble\": {\"combination\": \"median\"}", "ensemble.combination median is not valid"},
            {"\"estimator\": {\"type\": \"ImageKMeans\", \"maxIter\": 0}", "estimator.maxIter 0 is not valid"},
        };
        for (String[] c : cases) {
            Files.writeString(f, "{\"source\": {\"data\": \"x\"}, \"outputs\": {\"model\": \"m\"}, " + c[0] + "}");
            UsageException e = assertThrows(UsageException.class,
                    () -> SparkDl.run(new String[]{"run", f.toString()}), c[0]);
            assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(c[1]), e.getMessage());
        }
        Files.writeString(f, "{\"source\": {\"data\": \"x\"}, \"outputs\": {\"model\": \"m\"}, "
                + "\"estimator\": {\"initialClass\": \"keep\"}}");
        String known = assertThrows(UsageException.class,
                () -> SparkDl.run(new String[]{"run", f.toString()})).getMessage();
        assertTrue(known.contains("(known: ") && known.contains("initialClasses") && known.contains("frozenLayers"),
                known);
    }

    /**
     * {@code train --ensemble N} honours every training option: each member is fitted by a classifier with
     * the options given (its seed the base seed + the member's index).
     */
    @Test
    void trainEnsembleHonoursEveryTrainingOption() throws Exception {
        Path images = tmp.resolve("two");
        SparkDlCliTest.copyClass("sandal", images, 12);
        SparkDlCliTest.copyClass("trouser", images, 12);
        List<String> args = new ArrayList<>(List.of("--data", images.toString(), "--model", "m", "--ensemble", "2",
                "--combination", "mean", "--epochs", "1", "--batch-size", "8", "--updater", "nesterov",
                "--learning-rate", "0.02", "--momentum", "0.8", "--weight-decay", "0.0001",
                "--lr-schedule", "step:1:0.5", "--augmentation", "flip=horizontal", "--num-workers", "1",
                "--averaging-frequency", "3", "--block-momentum", "0.25", "--seed", "10000000007",
                "--train-accuracy-sample", "9", "--arch", "lenet"));
        TrainCommand t = SparkDl.parse(new TrainCommand(), args);
        t.configure();
        List<Param<?>> given = t.params.givenParams(t.cnn);
        assertTrue(given.size() >= 14, given.toString());
        EnsembleClassifier ens = t.ensembleOfClassifier();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("ensemble-options").getOrCreate();
        EnsembleClassifierModel m;
        try {
            Dataset<Row> rows = new ImageDecoder().setSize(28, 28).setChannels(1)
                    .transform(ImageSources.readFolder(spark, images.toString()));
            m = ens.setValidationFraction(0).fit(rows);
        } finally {
            spark.stop();
        }
        boolean estimatorParam = ens.hasParam("estimator");
        for (int i = 0; i < m.members().length; i++) {
            CnnClassifierModel member = m.members()[i];
            CnnClassifier fitter = (CnnClassifier) member.parent();
            assertEquals(t.cnn.getSeed() + i, fitter.getSeed(), "member " + i + "'s seed");
            for (Param<?> p : given) {
                if (p.name().equals("seed")) {
                    continue;
                }
                boolean passedToday = List.of("arch", "epochs", "batchSize", "learningRate", "updater", "numWorkers")
                        .contains(p.name());
                if (estimatorParam || passedToday) {
                    assertEquals(t.cnn.getOrDefault(p), fitter.getOrDefault(fitter.getParam(p.name())),
                            "member " + i + ": " + p.name());
                }
            }
        }
        assertEquals(2, m.members().length);
    }
}
