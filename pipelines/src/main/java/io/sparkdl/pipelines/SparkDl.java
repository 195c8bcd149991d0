package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.eval.ClusteringMetrics;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.report.HtmlReport;
import io.sparkdl.train.ValidationSplit;
import io.sparkdl.train.EpochStats;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.ml.functions.vector_to_array;

/**
 * The spark-dl batch jobs: {@code train}, {@code evaluate}, {@code predict}, and {@code export-idx}.
 * Each command is a thin layer over the library's stages; errors end in one line and a non-zero exit.
 */
public final class SparkDl {
    private static final Logger LOG = LoggerFactory.getLogger(SparkDl.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static final String USAGE = """
            usage: spark-dl <command> [options]
              train     --data DIR --model DIR [--arch lenet|bncnn|resnet|FILE.json] [--epochs N]
                        [--batch-size N] [--learning-rate X] [--updater sgd|momentum|nesterov|adam]
                        [--momentum X] [--weight-decay X] [--lr-schedule step:EVERY:FACTOR|exp:GAMMA|cosine]
                        [--normalize] [--augment rotate=10,translate=0.1,flip=horizontal,...]
                        [--image-size HxW] [--channels 1|3] [--workers N] [--averaging-frequency N]
                        [--block-momentum X] [--validation-fraction F] [--early-stopping PATIENCE]
                        [--initial-model DIR [--freeze-layers N] [--initial-classes replace|keep]]
                        [--seed N] [--ensemble K] [--engine nd4j|torch]
                        [--combine mean|vote|weighted] [--master URL] [--metrics-json FILE]
                        [--report-dir DIR] [--fail-on-bad-files] [--overwrite]
              explain   --model DIR --image FILE --out PNG [--class NAME] [--overwrite]
                        (saliency map: where the image makes the predicted or named class more likely)
              evaluate  --data DIR --model DIR [--master URL] [--metrics-json FILE] [--report-dir DIR]
                        [--fail-on-bad-files] [--overwrite]
              predict   --data DIR --model DIR --out DIR [--format parquet|csv] [--master URL]
                        [--metrics-json FILE] [--fail-on-bad-files] [--overwrite]
              cluster   --data DIR --k N [--pca N] [--features pixels|cnn:MODEL_DIR] [--seed N]
                        [--image-size HxW] [--channels 1|3] [--max-iter N] [--out DIR] [--format parquet|csv]
                        [--model DIR] [--master URL]
                        [--metrics-json FILE] [--report-dir DIR] [--fail-on-bad-files] [--overwrite]
              retrain   --lake DIR --registry DIR --holdout DIR [--epochs N] [--min-improvement X]
                        [--replay-fraction F] [--freeze-layers N] [--seed N] [--workers N] [--resume]
                        [--master URL] [--metrics-json FILE] [--overwrite]
              run       FILE [options that override the definition's fields]
                        (a ready pipeline definition, for example pipelines/fashion-lenet.json)
              export-idx --images FILE --labels FILE --out DIR [--per-class N] [--names fashion|digits]
                        [--repeat K] [--max-shift PIXELS] [--overwrite]

            Outputs (--model, --out, --metrics-json, --report-dir) must not exist (an empty folder is fine) unless
            --overwrite is given, and even then only an output spark-dl wrote is replaced; an output equal to,
            inside or containing an input is refused. Exit codes: 0 done, 1 failed, 2 bad command line,
            75 the registry is locked by another retrain run.
            """;

    private static final Set<String> COMMON = Set.of("data", "model", "master", "metrics-json");
    static final Set<String> EVALUATE_OPTIONS = union(COMMON, Set.of("report-dir"));
    static final Set<String> TRAIN_OPTIONS = union(EVALUATE_OPTIONS, Set.of("arch", "epochs", "batch-size",
            "learning-rate", "updater", "image-size", "channels", "workers", "averaging-frequency",
            "block-momentum", "validation-fraction", "seed", "ensemble", "combine", "lr-schedule", "momentum",
            "weight-decay", "normalize", "augment", "early-stopping", "initial-model", "freeze-layers",
            "initial-classes", "engine"));

    private SparkDl() {
    }

    /** {@code run FILE [overrides]}: the steps of a pipeline definition, one after the other. */
    private static int runDefinition(String[] args) throws IOException {
        if (args.length < 2 || args[1].startsWith("--")) {
            throw new CliArgs.UsageException("run needs a pipeline definition file, for example "
                    + "pipelines/fashion-lenet.json");
        }
        List<String[]> steps = PipelineDefinition.steps(args[1], java.util.Arrays.copyOfRange(args, 2, args.length),
                TRAIN_OPTIONS, EVALUATE_OPTIONS);
        for (int i = 0; i < steps.size(); i++) {
            LOG.info("spark-dl run {}: step {}/{}: {}", args[1], i + 1, steps.size(), String.join(" ", steps.get(i)));
            int rc = run(steps.get(i));
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (CliArgs.UsageException e) {
            System.err.println("spark-dl: " + e.getMessage() + " (spark-dl --help lists the options)");
            code = 2;
        } catch (Throwable e) {
            System.err.println("spark-dl: error: " + rootMessage(e));
            LOG.debug("failure", e);
            code = 1;
        }
        System.exit(code);
    }

    /** Runs one command and returns the exit code (0 on success); throws on failure. */
    public static int run(String[] args) throws IOException {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        return switch (args[0]) {
            case "train" -> train(new CliArgs(args, 1, TRAIN_OPTIONS, Set.of("fail-on-bad-files", "normalize",
                    "overwrite")));
            case "evaluate" -> evaluate(new CliArgs(args, 1, EVALUATE_OPTIONS, Set.of("fail-on-bad-files",
                    "overwrite")));
            case "predict" -> predict(new CliArgs(args, 1, union(COMMON, Set.of("out", "format")),
                    Set.of("fail-on-bad-files", "overwrite")));
            case "export-idx" -> exportIdx(new CliArgs(args, 1, Set.of("images", "labels", "out", "per-class",
                    "names", "repeat", "max-shift"), Set.of("overwrite")));
            case "run" -> runDefinition(args);
            case "explain" -> explain(new CliArgs(args, 1, Set.of("model", "image", "out", "class", "master"),
                    Set.of("overwrite")));
            case "retrain" -> Retrain.run(new CliArgs(args, 1, Retrain.OPTIONS, Set.of("resume", "overwrite")));
            case "cluster" -> cluster(new CliArgs(args, 1, PipelineDefinition.CLUSTER_OPTIONS,
                    Set.of("fail-on-bad-files", "overwrite")));
            default -> throw new CliArgs.UsageException("unknown command '" + args[0] + "'");
        };
    }

    // ---------------------------------------------------------------- train

    private static int train(CliArgs a) throws IOException {
        String data = existingDir(a.required("data"), "--data");
        String modelDir = a.required("model");
        String arch = a.get("arch", "lenet");
        if (!NetworkSpec.builtIns().contains(arch.toLowerCase())) {
            File f = new File(arch);
            if (!f.isFile()) {
                throw new CliArgs.UsageException("--arch must be one of " + NetworkSpec.builtIns()
                        + " or a JSON file, but " + arch + " is neither");
            }
            arch = Files.readString(f.toPath(), StandardCharsets.UTF_8);
        }
        NetworkSpec spec = NetworkSpec.parse(arch);
        int[] size = parseSize(a.get("image-size", null));
        int[] dflt = spec.defaultInput();
        int h = size != null ? size[0] : dflt != null ? dflt[0] : 0;
        int w = size != null ? size[1] : dflt != null ? dflt[1] : 0;
        int channels = a.getInt("channels", dflt != null ? dflt[2] : 0, 0);
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new CliArgs.UsageException("--channels must be 1 or 3 but was " + channels);
        }
        double valFraction = a.getDouble("validation-fraction", 0.1);
        if (valFraction < 0 || valFraction >= 1) {
            throw new CliArgs.UsageException("--validation-fraction must be in [0, 1) but was " + valFraction);
        }
        if (h > 0) {
            try {
                spec.checkInput(h, w, channels > 0 ? channels : 1);
            } catch (IllegalArgumentException e) {
                throw new CliArgs.UsageException((size != null ? "--image-size " + h + "x" + w + " and " : "")
                        + "--arch " + a.get("arch", "lenet") + " do not fit: " + e.getMessage());
            }
        }
        long seed = a.getLong("seed", 42);
        CnnClassifier cnn = new CnnClassifier();
        double lr = a.getDouble("learning-rate", 1e-3);
        set("learning-rate", lr, cnn.learningRate(), () -> cnn.setLearningRate(lr));
        cnn.setArch(arch)
                .setEpochs(a.getInt("epochs", 3, 1))
                .setBatchSize(a.getInt("batch-size", 64, 1))
                .setNumWorkers(a.getInt("workers", 0, 0))
                .setAveragingFrequency(a.getInt("averaging-frequency", 5, 1))
                .setSeed(seed);
        String updater = a.get("updater", "adam");
        set("updater", updater, cnn.updater(), () -> cnn.setUpdater(updater));
        String engine = a.get("engine", "nd4j");
        set("engine", engine, cnn.engine(), () -> cnn.setEngine(engine));
        String schedule = a.get("lr-schedule", "constant");
        try {
            io.sparkdl.nn.LearningRateSchedule.validate(schedule);
        } catch (IllegalArgumentException e) {
            throw new CliArgs.UsageException("--lr-schedule: " + e.getMessage());
        }
        cnn.setLrSchedule(schedule);
        double momentum = a.getDouble("momentum", 0.9);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new CliArgs.UsageException("--momentum must be in [0, 1) but was " + momentum);
        }
        cnn.setMomentum(momentum);
        double weightDecay = a.getDouble("weight-decay", 0.0);
        if (!(weightDecay >= 0)) {
            throw new CliArgs.UsageException("--weight-decay must be >= 0 but was " + weightDecay);
        }
        cnn.setWeightDecay(weightDecay);
        String augment = a.get("augment", "");
        try {
            io.sparkdl.image.Augmentation.parse(augment);
        } catch (IllegalArgumentException e) {
            throw new CliArgs.UsageException("--augment: " + e.getMessage());
        }
        cnn.setAugmentation(augment);
        int patience = a.getInt("early-stopping", 0, 0);
        if (patience > 0 && valFraction == 0) {
            throw new CliArgs.UsageException("--early-stopping needs a validation set: --validation-fraction > 0");
        }
        cnn.setEarlyStoppingPatience(patience);
        if (a.has("initial-model")) {
            cnn.setInitialModel(existingDir(a.get("initial-model", null), "--initial-model"));
            // on the command line the training data names the classes the new model predicts
            String classes = a.get("initial-classes", "replace");
            if (!List.of("keep", "replace").contains(classes)) {
                throw new CliArgs.UsageException("--initial-classes must be keep or replace but was " + classes);
            }
            cnn.setInitialClasses(classes);
        } else if (a.has("initial-classes")) {
            throw new CliArgs.UsageException("--initial-classes needs --initial-model");
        }
        int freeze = a.getInt("freeze-layers", 0, 0);
        if (freeze > 0 && !a.has("initial-model")) {
            throw new CliArgs.UsageException("--freeze-layers needs --initial-model (the frozen layers must come trained)");
        }
        cnn.setFrozenLayers(freeze);
        if (a.has("block-momentum")) {
            double mu = a.getDouble("block-momentum", -1);
            if (mu != -1 && !(mu >= 0 && mu < 1)) {
                throw new CliArgs.UsageException("--block-momentum must be in [0, 1) (or -1 for 1 - 1/workers) but was "
                        + mu);
            }
            cnn.setBlockMomentum(mu);
        }
        if (h > 0) {
            cnn.setImageHeight(h).setImageWidth(w);
        }
        if (channels > 0) {
            cnn.setImageChannels(channels);
        }
        int members = a.getInt("ensemble", 1, 1);
        String combine = a.get("combine", "mean");
        if (!List.of("mean", "vote", "weighted").contains(combine)) {
            throw new CliArgs.UsageException("--combine must be mean, vote or weighted but was " + combine);
        }
        SparkSession spark = session(a, "spark-dl train");
        try {
            OutputPaths outputs = new OutputPaths("train", a.has("overwrite"), spark.sparkContext().hadoopConfiguration())
                    .input("--data", data).input("--initial-model", a.get("initial-model", null))
                    .output("--model", modelDir, OutputPaths.Kind.MODEL)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS)
                    .output("--report-dir", a.get("report-dir", null), OutputPaths.Kind.REPORT).check();
            Loaded in = load(spark, data, h, w, channels, a.has("fail-on-bad-files"), true);
            capWorkers(cnn, a, in.numGood * (1 - valFraction), spark);
            // A seeded hash of each image's pixels and label: the same rows are held out on every pass and every
            // run, whatever the folder's location or listing order, without caching the decoded images twice.
            Dataset<Row> rows = in.good.withColumn("isValidation", valFraction > 0
                    ? ValidationSplit.isValidation(in.good.schema(), "image", "label", valFraction, seed)
                    : lit(false));
            if (valFraction > 0) {
                cnn.setValidationIndicatorCol("isValidation");
            }
            if (a.has("normalize")) {
                // statistics of the training rows only; the model keeps them for evaluate and predict
                io.sparkdl.image.ImageNormalizerModel norm = new io.sparkdl.image.ImageNormalizer()
                        .setChannels(channels)
                        .fit(rows.where(org.apache.spark.sql.functions.not(col("isValidation"))));
                LOG.info("Normalisation fitted on the training images: {}", norm.normalization());
                rows = norm.transform(rows);
            }
            long t0 = System.nanoTime();
            AnyModel model;
            if (members > 1) {
                // the CLI's held-out rows stay out of training; the ensemble splits its own validation share
                // off the rest to measure its members and fit weights
                EnsembleClassifierModel ens = new EnsembleClassifier().setNumMembers(members).setArchs(arch)
                        .setCombination(combine).setEpochs(cnn.getEpochs()).setBatchSize(cnn.getBatchSize())
                        .setLearningRate(cnn.getLearningRate()).setUpdater(cnn.getUpdater())
                        .setNumWorkers(cnn.getNumWorkers()).setSeed(seed)
                        .fit(rows.where(org.apache.spark.sql.functions.not(col("isValidation"))));
                outputs.write(modelDir, OutputPaths.Kind.MODEL, tmp -> ens.write().save(tmp));
                model = AnyModel.of(ens);
                for (int i = 0; i < members; i++) {
                    System.out.printf("member %d: validation accuracy %.4f, weight %.3f%n", i + 1,
                            ens.validationAccuracies()[i], ens.weights()[i]);
                }
            } else {
                CnnClassifierModel cm = cnn.fit(rows);
                outputs.write(modelDir, OutputPaths.Kind.MODEL, tmp -> cm.write().save(tmp));
                System.out.print(cm.summary());
                model = AnyModel.of(cm);
            }
            double fitSeconds = (System.nanoTime() - t0) / 1e9;
            LOG.info("Saved model to {}", modelDir);
            Dataset<Row> evalRows = valFraction > 0 ? rows.where(col("isValidation")) : rows;
            ClassificationMetrics m = ClassificationMetrics.compute(model.transform(evalRows), "label",
                    "prediction", model.labels());
            System.out.printf("%s accuracy %.4f, weighted F1 %.4f on %d images%n",
                    valFraction > 0 ? "validation" : "training", m.accuracy(), m.weightedF1(), m.total());
            if (m.atChanceLevel()) {
                String what = String.format("the model is at chance level: %s accuracy %.4f against %.4f for "
                        + "guessing; it learned nothing usable (a diverged run? try a smaller --learning-rate)",
                        valFraction > 0 ? "validation" : "training", m.accuracy(), m.chanceAccuracy());
                LOG.warn(what);
                System.out.println("WARNING: " + what);
            }
            Map<String, Object> out = metrics(m, in);
            out.put("evaluatedOn", valFraction > 0 ? "validation" : "training");
            List<Map<String, Object>> hist = new ArrayList<>();
            for (EpochStats e : model.history()) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("epoch", e.epoch());
                r.put("loss", e.loss());
                r.put("trainAccuracy", e.trainAccuracy());
                r.put("validationAccuracy", Double.isNaN(e.validationAccuracy()) ? null : e.validationAccuracy());
                r.put("imagesPerSecond", e.imagesPerSecond());
                r.put("seconds", e.seconds());
                hist.add(r);
            }
            out.put("history", hist);
            writeMetrics(a, outputs, out);
            if (a.has("report-dir")) {
                Map<String, Object> facts = new LinkedHashMap<>();
                facts.put("data", data);
                facts.put("model", modelDir);
                facts.put("images used", in.numGood);
                facts.put("bad files", in.bad.size());
                facts.put("network", spec.name());
                facts.put("training", model.description());
                facts.put("epochs", model.history().size());
                facts.put("fit time (s, with data preparation)", fitSeconds);
                facts.put("training images/s", model.history().stream()
                        .mapToDouble(EpochStats::imagesPerSecond).average().orElse(Double.NaN));
                facts.put("metrics below on", valFraction > 0 ? "validation set" : "training set");
                if (m.atChanceLevel()) {
                    facts.put("WARNING", "at chance level: accuracy " + m.accuracy() + ", guessing "
                            + m.chanceAccuracy());
                }
                report(a, outputs, "spark-dl train: " + new File(modelDir).getName(), facts, model.history(), m,
                        model.transform(evalRows), model.labels(), in.bad);
            }
            in.all.unpersist();
            return 0;
        } finally {
            spark.stop();
        }
    }

    // ---------------------------------------------------------------- explain

    /** {@code explain}: a saliency map of one image as a PNG (input, heat map, overlay). */
    private static int explain(CliArgs a) throws IOException {
        String modelDir = existingDir(a.required("model"), "--model");
        File image = new File(a.required("image"));
        if (!image.isFile()) {
            throw new CliArgs.UsageException("--image " + image + " is not a file");
        }
        String out = a.required("out");
        io.sparkdl.image.ImageCodec.Pixels px;
        try {
            px = io.sparkdl.image.ImageCodec.decode(Files.readAllBytes(image.toPath()), 0);
        } catch (io.sparkdl.image.ImageCodec.DecodeException e) {
            throw new CliArgs.UsageException("--image " + image + " cannot be decoded: " + e.getMessage());
        }
        SparkSession spark = session(a, "spark-dl explain");
        try {
            String cls = io.sparkdl.io.SparkMLInternals.stageClassName(modelDir, spark.sparkContext());
            if (!cls.equals(CnnClassifierModel.class.getName())) {
                throw new CliArgs.UsageException("--model " + modelDir + " holds a " + cls
                        + "; explain needs a CnnClassifierModel (explain an ensemble's members one by one)");
            }
            CnnClassifierModel model = CnnClassifierModel.load(modelDir);
            String className = a.get("class", null);
            if (className != null && !List.of(model.labels()).contains(className)) {
                throw new CliArgs.UsageException("--class " + className + " is not one of the model's classes "
                        + List.of(model.labels()));
            }
            OutputPaths outputs = new OutputPaths("explain", a.has("overwrite"),
                    spark.sparkContext().hadoopConfiguration()).input("--model", modelDir)
                    .input("--image", image.getPath()).output("--out", out, OutputPaths.Kind.PNG).check();
            io.sparkdl.explain.Saliency.Result r = model.saliency(px, className);
            String[] labels = model.labels();
            String caption = String.format("%s: saliency of '%s' (p=%.3f); predicted '%s'", image.getName(),
                    labels[r.classIndex()], r.probability(), labels[r.predicted()]);
            byte[] png = markedPng(io.sparkdl.explain.Saliency.render(r, caption));
            outputs.writeBytes(out, OutputPaths.Kind.PNG, png);
            System.out.println(caption + " -> " + out);
            return 0;
        } finally {
            spark.stop();
        }
    }

    // ---------------------------------------------------------------- evaluate

    private static int evaluate(CliArgs a) throws IOException {
        String data = existingDir(a.required("data"), "--data");
        String modelDir = existingDir(a.required("model"), "--model");
        SparkSession spark = session(a, "spark-dl evaluate");
        try {
            OutputPaths outputs = new OutputPaths("evaluate", a.has("overwrite"),
                    spark.sparkContext().hadoopConfiguration()).input("--data", data).input("--model", modelDir)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS)
                    .output("--report-dir", a.get("report-dir", null), OutputPaths.Kind.REPORT).check();
            AnyModel model = AnyModel.load(modelDir, spark);
            int[] s = model.inputShape();
            Loaded in = load(spark, data, s[0], s[1], s[2], a.has("fail-on-bad-files"), true);
            long t0 = System.nanoTime();
            ClassificationMetrics m = ClassificationMetrics.compute(model.transform(in.good), "label",
                    "prediction", model.labels());
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (m.unknown() > 0) {
                LOG.warn("{} images have labels the model does not know; they are not counted", m.unknown());
            }
            System.out.printf("accuracy %.4f, weighted F1 %.4f on %d images%n", m.accuracy(), m.weightedF1(),
                    m.total());
            Map<String, Object> out = metrics(m, in);
            out.put("unknownLabelImages", m.unknown());
            writeMetrics(a, outputs, out);
            if (a.has("report-dir")) {
                Map<String, Object> facts = new LinkedHashMap<>();
                facts.put("data", data);
                facts.put("model", modelDir);
                facts.put("images evaluated", m.total());
                facts.put("bad files", in.bad.size());
                facts.put("images with labels the model does not know", m.unknown());
                facts.put("prediction time (s, decoded images)", seconds);
                facts.put("prediction images/s", m.total() / seconds);
                report(a, outputs, "spark-dl evaluate: " + new File(modelDir).getName(), facts,
                        model.history(), m, model.transform(in.good),
                        model.labels(), in.bad);
            }
            return 0;
        } finally {
            spark.stop();
        }
    }

    // ---------------------------------------------------------------- predict

    private static int predict(CliArgs a) throws IOException {
        String data = existingDir(a.required("data"), "--data");
        String modelDir = existingDir(a.required("model"), "--model");
        String outDir = a.required("out");
        String format = a.get("format", "parquet");
        if (!format.equals("parquet") && !format.equals("csv")) {
            throw new CliArgs.UsageException("--format must be parquet or csv but was " + format);
        }
        SparkSession spark = session(a, "spark-dl predict");
        try {
            OutputPaths outputs = new OutputPaths("predict", a.has("overwrite"),
                    spark.sparkContext().hadoopConfiguration()).input("--data", data).input("--model", modelDir)
                    .output("--out", outDir, OutputPaths.Kind.PREDICTIONS)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS).check();
            AnyModel model = AnyModel.load(modelDir, spark);
            int[] s = model.inputShape();
            Loaded in = load(spark, data, s[0], s[1], s[2], a.has("fail-on-bad-files"), false);
            Dataset<Row> pred = model.transform(in.all.drop("content"));
            // Bad files keep their row with a null prediction; vector_to_array does not accept null.
            org.apache.spark.sql.Column probs = when(col("probability").isNotNull(),
                    vector_to_array(col("probability"), "float64"));
            Dataset<Row> out = pred.select(col("path"), col("predictedLabel"),
                    (format.equals("csv") ? to_json(probs) : probs).as("probability"),
                    col("decodeError").as("error"));
            outputs.write(outDir, OutputPaths.Kind.PREDICTIONS, tmp -> {
                if (format.equals("csv")) {
                    out.write().option("header", "true").csv(tmp);
                } else {
                    out.write().parquet(tmp);
                }
            });
            long n = spark.read().format(format).option("header", "true").load(outDir).count();
            System.out.printf("wrote %d predictions to %s (%d bad files)%n", n, outDir, in.bad.size());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("numImages", in.numGood);
            m.put("badFiles", in.bad);
            m.put("output", outDir);
            writeMetrics(a, outputs, m);
            return 0;
        } finally {
            spark.stop();
        }
    }

    // ---------------------------------------------------------------- cluster

    private static int cluster(CliArgs a) throws IOException {
        String data = existingDir(a.required("data"), "--data");
        int k = a.getInt("k", 10, 2);
        int pca = a.getInt("pca", 0, 0);
        long seed = a.getLong("seed", 42);
        String features = a.get("features", "pixels");
        CnnClassifierModel cnn = null;
        if (features.startsWith("cnn:")) {
            features = "cnn:" + existingDir(features.substring(4), "--features cnn:");
        } else if (!features.equals("pixels")) {
            throw new CliArgs.UsageException("--features must be pixels or cnn:MODEL_DIR but was " + features);
        }
        int[] size = parseSize(a.get("image-size", null));
        int channels = a.getInt("channels", 0, 0);
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new CliArgs.UsageException("--channels must be 1 or 3 but was " + channels);
        }
        SparkSession spark = session(a, "spark-dl cluster");
        try {
            OutputPaths outputs = new OutputPaths("cluster", a.has("overwrite"),
                    spark.sparkContext().hadoopConfiguration()).input("--data", data)
                    .input("--features", features.startsWith("cnn:") ? features.substring(4) : null)
                    .output("--out", a.get("out", null), OutputPaths.Kind.CLUSTERS)
                    .output("--model", a.get("model", null), OutputPaths.Kind.MODEL)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS)
                    .output("--report-dir", a.get("report-dir", null), OutputPaths.Kind.REPORT).check();
            long t0 = System.nanoTime();
            int h = size != null ? size[0] : 0;
            int w = size != null ? size[1] : 0;
            if (features.startsWith("cnn:")) {
                cnn = CnnClassifierModel.load(features.substring(4));
                int[] s = cnn.inputShape();
                h = s[0];
                w = s[1];
                channels = s[2];
            } else if (size == null) {
                h = 28;
                w = 28;
                channels = channels == 0 ? 1 : channels;
            }
            Loaded in = load(spark, data, h, w, channels, a.has("fail-on-bad-files"), false);
            Dataset<Row> rows = in.good;
            String col = "image";
            if (cnn != null) {
                rows = new CnnFeaturizer(cnn).setOutputCol("embedding").transform(rows);
                col = "embedding";
            }
            rows = rows.persist(StorageLevel.MEMORY_AND_DISK());
            ImagePCAModel pcaModel = null;
            if (pca > 0) {
                pcaModel = new ImagePCA().setInputCol(col).setOutputCol("pca").setK(pca).setSeed(seed).fit(rows);
                rows = pcaModel.transform(rows);
                col = "pca";
            }
            // more clusters than distinct images: ImageKMeans fits the clusters there are, with a warning
            ImageKMeansModel km = new ImageKMeans().setFeaturesCol(col).setK(k).setSeed(seed)
                    .setMaxIter(a.getInt("max-iter", 20, 1)).fit(rows);
            Dataset<Row> clustered = km.transform(rows).persist(StorageLevel.MEMORY_AND_DISK());
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean labelled = clustered.where(col("label").isNotNull()).limit(1).count() > 0;
            double nmi = labelled ? ClusteringMetrics.nmi(clustered, "cluster", "label") : Double.NaN;
            System.out.printf("%d images in %d clusters, inertia %.6g, %d iterations%s, %.1f s%n", in.numGood, km.k(),
                    km.trainingCost(), km.iterations(), labelled ? String.format(", NMI against the folder labels %.4f",
                            nmi) : "", seconds);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("numImages", in.numGood);
            m.put("badFiles", in.bad);
            m.put("features", features + (pca > 0 ? " + pca " + pca : ""));
            m.put("k", km.k());
            m.put("requestedK", k);
            m.put("inertia", km.trainingCost());
            m.put("iterations", km.iterations());
            m.put("clusterSizes", km.clusterSizes());
            m.put("nmi", labelled ? nmi : null);
            m.put("seconds", seconds);
            if (pcaModel != null) {
                m.put("pcaExplainedVariance", java.util.Arrays.stream(pcaModel.explainedVarianceRatio().toArray()).sum());
            }
            if (a.has("out")) {
                String format = a.get("format", "parquet");
                if (!format.equals("parquet") && !format.equals("csv")) {
                    throw new CliArgs.UsageException("--format must be parquet or csv but was " + format);
                }
                var writer = clustered.select(col("path"), col("label"), col("cluster"), col("distance")).write();
                outputs.write(a.get("out", null), OutputPaths.Kind.CLUSTERS, tmp -> {
                    if (format.equals("csv")) {
                        writer.option("header", "true").csv(tmp);
                    } else {
                        writer.parquet(tmp);
                    }
                });
                m.put("output", a.get("out", null));
            }
            if (a.has("model")) {
                List<org.apache.spark.ml.Transformer> stages = new ArrayList<>();
                if (cnn != null) {
                    stages.add(new CnnFeaturizer(cnn).setOutputCol("embedding"));
                }
                if (pcaModel != null) {
                    stages.add(pcaModel);
                }
                stages.add(km);
                var pipeline = io.sparkdl.io.SparkMLInternals.pipelineModel("cluster-" + java.util.UUID.randomUUID(),
                        stages.toArray(new org.apache.spark.ml.Transformer[0]));
                outputs.write(a.get("model", null), OutputPaths.Kind.MODEL, tmp -> pipeline.write().save(tmp));
                m.put("model", a.get("model", null));
                LOG.info("Saved the fitted {} pipeline to {}", stages.size() == 1 ? "k-means" : "feature + k-means",
                        a.get("model", null));
            }
            writeMetrics(a, outputs, m);
            if (a.has("report-dir")) {
                clusterReport(a, outputs, clustered, col, km, m, seed);
            }
            clustered.unpersist();
            rows.unpersist();
            return 0;
        } finally {
            spark.stop();
        }
    }

    private static void clusterReport(CliArgs a, OutputPaths outputs, Dataset<Row> clustered, String featureCol, ImageKMeansModel km,
                                      Map<String, Object> facts, long seed) {
        // 2-D view: the first two principal components of the clustered features, on a sample
        long n = clustered.count();
        Dataset<Row> sample = n > 3000 ? clustered.sample(false, 3000.0 / n, seed) : clustered;
        ImagePCAModel two = new ImagePCA().setInputCol(featureCol).setOutputCol("xy").setK(2).setSeed(seed)
                .fit(sample);
        List<Row> pts = two.transform(sample).select("xy", "cluster").collectAsList();
        double[][] xy = new double[pts.size()][];
        int[] group = new int[pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            xy[i] = ((org.apache.spark.ml.linalg.Vector) pts.get(i).get(0)).toArray();
            group[i] = pts.get(i).getInt(1);
        }
        String[] names = new String[km.k()];
        for (int c = 0; c < km.k(); c++) {
            names[c] = "cluster " + c + " (" + km.clusterSizes()[c] + ")";
        }
        // montage: the 8 images nearest each centre
        List<Row> nearest = clustered.withColumn("rank", org.apache.spark.sql.functions.row_number().over(
                        org.apache.spark.sql.expressions.Window.partitionBy("cluster").orderBy("distance")))
                .where(col("rank").leq(8)).orderBy("cluster", "rank").select("image", "cluster", "label", "distance")
                .collectAsList();
        List<HtmlReport.Tile> tiles = new ArrayList<>();
        for (Row r : nearest) {
            try {
                tiles.add(new HtmlReport.Tile(HtmlReport.toPng(io.sparkdl.image.ImageStruct.pixels(r.getStruct(0)), 96),
                        String.format("cluster %d%s, distance %.2f", r.getInt(1),
                                r.isNullAt(2) ? "" : " (" + r.get(2) + ")", r.getDouble(3))));
            } catch (io.sparkdl.image.ImageCodec.DecodeException e) {
                // an undecodable struct cannot be clustered either; nothing to show
            }
        }
        Map<String, Object> shown = new LinkedHashMap<>(facts);
        shown.remove("badFiles");
        shown.put("clusterSizes", java.util.Arrays.toString(km.clusterSizes()));
        HtmlReport r = new HtmlReport("spark-dl cluster: " + a.get("data", "")).facts("Run", shown)
                .scatter("First two principal components, coloured by cluster", "PC 1", "PC 2", xy, group, names)
                .gallery("Images nearest each centre", tiles);
        String path = writeReport(outputs, a.get("report-dir", null), r,
                clustered.sparkSession().sparkContext().hadoopConfiguration());
        LOG.info("Wrote report to {}", path);
        System.out.println("report: " + path);
    }

    // ---------------------------------------------------------------- export-idx

    private static int exportIdx(CliArgs a) throws IOException {
        File images = new File(a.required("images"));
        File labels = new File(a.required("labels"));
        for (File f : new File[]{images, labels}) {
            if (!f.isFile()) {
                throw new CliArgs.UsageException("file " + f + " does not exist");
            }
        }
        String names = a.get("names", "fashion");
        String outDir = a.required("out");
        OutputPaths outputs = new OutputPaths("export-idx", a.has("overwrite"), new org.apache.hadoop.conf.Configuration())
                .input("--images", images.getPath()).input("--labels", labels.getPath())
                .output("--out", outDir, OutputPaths.Kind.IMAGES).check();
        int[] n = new int[1];
        outputs.write(outDir, OutputPaths.Kind.IMAGES, tmp -> n[0] = ExportIdx.export(images, labels,
                new File(new org.apache.hadoop.fs.Path(tmp).toUri().getPath()), a.getInt("per-class", 0, 0),
                names.equals("fashion") ? ExportIdx.FASHION : null, a.getInt("repeat", 1, 1),
                a.getInt("max-shift", 2, 0)));
        System.out.println("wrote " + n[0] + " images to " + outDir);
        return 0;
    }

    // ---------------------------------------------------------------- shared

    /** A saved CnnClassifierModel or EnsembleClassifierModel, whichever the folder holds. */
    record AnyModel(org.apache.spark.ml.Transformer model, int[] inputShape, String[] labels,
                    List<EpochStats> history, String description) {
        static AnyModel of(CnnClassifierModel m) {
            return new AnyModel(m, m.inputShape(), m.labels(), m.hasSummary() ? m.summary().history() : List.of(),
                    m.hasSummary() ? m.summary().strategy() + ", " + m.summary().workers() + " workers" : "CNN");
        }

        static AnyModel of(EnsembleClassifierModel e) {
            return new AnyModel(e, e.members()[0].inputShape(), e.labels(), List.of(),
                    "ensemble of " + e.members().length + " CNNs (" + e.getCombination() + ")");
        }

        static AnyModel load(String dir, SparkSession spark) {
            String cls = io.sparkdl.io.SparkMLInternals.stageClassName(dir, spark.sparkContext());
            if (cls.equals(EnsembleClassifierModel.class.getName())) {
                return of(EnsembleClassifierModel.load(dir));
            }
            if (!cls.equals(CnnClassifierModel.class.getName())) {
                throw new CliArgs.UsageException("--model " + dir + " holds a " + cls
                        + ", not a CnnClassifierModel or EnsembleClassifierModel");
            }
            return of(CnnClassifierModel.load(dir));
        }

        Dataset<Row> transform(Dataset<Row> d) {
            return model.transform(d);
        }
    }

    /** Decoded images of a folder, with the files that could not be used. */
    private record Loaded(Dataset<Row> all, Dataset<Row> good, long numGood, List<Map<String, String>> bad) {
    }

    private static Loaded load(SparkSession spark, String dir, int h, int w, int channels, boolean failOnBad,
                               boolean needLabels) {
        ImageDecoder dec = new ImageDecoder().setChannels(channels).setHandleInvalid(failOnBad ? "error" : "keep");
        if (h > 0) {
            dec.setSize(h, w);
        }
        Dataset<Row> decoded = dec.transform(ImageSources.readFolder(spark, dir));
        if (failOnBad) {
            decoded = decoded.withColumn("decodeError", lit(null).cast("string"));
        }
        if (needLabels) {
            decoded = decoded.withColumn("decodeError", when(col("decodeError").isNull().and(col("label").isNull()),
                    lit("not inside a class folder (the folder name is the label)")).otherwise(col("decodeError")));
        }
        decoded = decoded.drop("content").persist(StorageLevel.MEMORY_AND_DISK());
        List<Map<String, String>> bad = new ArrayList<>();
        for (Row r : decoded.where(col("decodeError").isNotNull()).select("path", "decodeError").collectAsList()) {
            Map<String, String> b = new LinkedHashMap<>();
            b.put("path", r.getString(0));
            b.put("reason", r.getString(1));
            bad.add(b);
        }
        Dataset<Row> good = decoded.where(col("decodeError").isNull());
        long n = good.count();
        if (!bad.isEmpty()) {
            LOG.warn("{} of {} files in {} could not be used (listed under badFiles in the metrics); first: {}: {}",
                    bad.size(), bad.size() + n, dir, bad.get(0).get("path"), bad.get(0).get("reason"));
        }
        if (n == 0) {
            throw new IllegalArgumentException("no usable images in " + dir
                    + (bad.isEmpty() ? " (the folder is empty)" : " (" + bad.size() + " bad files)"));
        }
        LOG.info("{} images in {}", n, dir);
        return new Loaded(decoded, good, n, bad);
    }

    private static void report(CliArgs a, OutputPaths outputs, String title, Map<String, Object> facts, List<EpochStats> history,
                               ClassificationMetrics m, Dataset<Row> predictions, String[] labels,
                               List<Map<String, String>> bad) {
        HtmlReport r = new HtmlReport(title).facts("Run", facts);
        if (!history.isEmpty()) {
            r.trainingCurves(history);
        }
        r.confusion(m).gallery("Misclassified images (first 32)", HtmlReport.misclassified(predictions, labels, 32));
        if (!bad.isEmpty()) {
            Map<String, Object> files = new LinkedHashMap<>();
            bad.stream().limit(50).forEach(b -> files.put(b.get("path"), b.get("reason")));
            r.facts("Files that could not be used (" + bad.size() + ")", files);
        }
        String path = writeReport(outputs, a.get("report-dir", null), r,
                predictions.sparkSession().sparkContext().hadoopConfiguration());
        LOG.info("Wrote report to {}", path);
        System.out.println("report: " + path);
    }

    private static Map<String, Object> metrics(ClassificationMetrics m, Loaded in) {
        Map<String, Object> out = new LinkedHashMap<>(m.toMap());
        out.put("numImages", in.numGood);
        out.put("badFiles", in.bad);
        return out;
    }

    /** The report's index.html in DIR, written as every output is (see {@link OutputPaths}); its path. */
    private static String writeReport(OutputPaths outputs, String dir, HtmlReport r,
                                      org.apache.hadoop.conf.Configuration conf) {
        outputs.write(dir, OutputPaths.Kind.REPORT, tmp -> r.write(tmp, conf));
        return dir.replaceAll("/+$", "") + "/index.html";
    }

    /** The metrics JSON of {@code --metrics-json}, marked as spark-dl's so that --overwrite may replace it. */
    static void writeMetrics(CliArgs a, OutputPaths outputs, Map<String, Object> metrics) throws IOException {
        if (a.has("metrics-json")) {
            String f = a.get("metrics-json", null);
            Map<String, Object> marked = new LinkedHashMap<>();
            marked.put(OutputPaths.METRICS_MARK, "spark-dl " + projectVersion());
            marked.putAll(metrics);
            outputs.writeBytes(f, OutputPaths.Kind.METRICS, JSON.writeValueAsBytes(marked));
            LOG.info("Wrote metrics to {}", f);
        }
    }

    static String projectVersion() {
        String v = SparkDl.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    /** A PNG carrying the tEXt mark by which {@link OutputPaths} knows it as explain's own. */
    private static byte[] markedPng(java.awt.image.BufferedImage img) throws IOException {
        javax.imageio.ImageWriter w = javax.imageio.ImageIO.getImageWritersByFormatName("png").next();
        javax.imageio.metadata.IIOMetadata meta = w.getDefaultImageMetadata(
                javax.imageio.ImageTypeSpecifier.createFromRenderedImage(img), w.getDefaultWriteParam());
        javax.imageio.metadata.IIOMetadataNode entry = new javax.imageio.metadata.IIOMetadataNode("tEXtEntry");
        entry.setAttribute("keyword", "Software");
        entry.setAttribute("value", OutputPaths.PNG_MARK);
        javax.imageio.metadata.IIOMetadataNode text = new javax.imageio.metadata.IIOMetadataNode("tEXt");
        text.appendChild(entry);
        javax.imageio.metadata.IIOMetadataNode root = new javax.imageio.metadata.IIOMetadataNode("javax_imageio_png_1.0");
        root.appendChild(text);
        meta.mergeTree("javax_imageio_png_1.0", root);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (javax.imageio.stream.ImageOutputStream ios = javax.imageio.ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(ios);
            w.write(new javax.imageio.IIOImage(img, null, meta));
        } finally {
            w.dispose();
        }
        return bytes.toByteArray();
    }

    /** Sets a stage param from an option: the stage's validator decides, and the error names the option. */
    private static void set(String option, Object value, org.apache.spark.ml.param.Param<?> p, Runnable setter) {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            throw new CliArgs.UsageException("--" + option + " " + value + " is not valid: " + p.doc());
        }
    }

    /**
     * More workers than minibatches leave workers idle or with one-image partitions: capped, with a warning
     * when the user asked for them.
     */
    private static void capWorkers(CnnClassifier cnn, CliArgs a, double trainImages, SparkSession spark) {
        int asked = cnn.getNumWorkers();
        int workers = asked > 0 ? asked : spark.sparkContext().defaultParallelism();
        int most = (int) Math.max(1, Math.ceil(trainImages / cnn.getBatchSize()));
        if (workers > most) {
            if (asked > 0) {
                LOG.warn("--workers {}: the {} training images make only {} minibatch(es) of {}; using {} worker(s)",
                        asked, (long) trainImages, most, cnn.getBatchSize(), most);
            }
            cnn.setNumWorkers(most);
        }
    }

    static SparkSession session(CliArgs a, String name) {
        // --master wins; then a master set by spark-submit (spark.master); then local[*]
        SparkSession.Builder b = SparkSession.builder().appName(name)
                .master(a.get("master", System.getProperty("spark.master", "local[*]")));
        applyDefaults(b, System.getProperty("spark-dl.defaults"));
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        LOG.info("Spark {} master {}; {}", spark.version(), spark.sparkContext().master(), Nd4jBackend.init());
        return spark;
    }

    /**
     * Applies {@code key value} lines of a spark-defaults.conf file (the launcher passes
     * conf/spark-defaults.conf) unless the key is already set as a system property.
     */
    static void applyDefaults(SparkSession.Builder b, String file) {
        if (file == null || !new File(file).isFile()) {
            return;
        }
        try {
            for (String line : Files.readAllLines(new File(file).toPath(), StandardCharsets.UTF_8)) {
                String t = line.trim();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                String[] kv = t.split("\\s+", 2);
                if (kv.length == 2 && System.getProperty(kv[0]) == null) {
                    b.config(kv[0], kv[1].trim());
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot read " + file, e);
        }
    }

    static String existingDir(String path, String option) {
        File f = new File(path);
        if (!path.contains("://") && !f.isDirectory()) {
            throw new CliArgs.UsageException(option + " " + path + (f.exists() ? " is not a folder" : " does not exist"));
        }
        return path;
    }

    private static int[] parseSize(String s) {
        if (s == null) {
            return null;
        }
        String[] p = s.toLowerCase().split("x");
        try {
            if (p.length == 2) {
                int h = Integer.parseInt(p[0].trim());
                int w = Integer.parseInt(p[1].trim());
                if (h > 0 && w > 0 && h <= NetworkSpec.MAX_SIDE && w <= NetworkSpec.MAX_SIDE) {
                    return new int[]{h, w};
                }
            }
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new CliArgs.UsageException("--image-size must look like 28x28, each side between 1 and "
                + NetworkSpec.MAX_SIDE + ", but was '" + s + "'");
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        java.util.HashSet<String> s = new java.util.HashSet<>(a);
        s.addAll(b);
        return s;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        String msg = null;
        while (t != null) {
            if (t instanceof IllegalArgumentException || t instanceof IllegalStateException
                    || t.getCause() == null) {
                msg = t.getMessage();
                if (msg != null) {
                    break;
                }
            }
            t = t.getCause();
        }
        if (msg == null) {
            msg = e.toString();
        }
        int nl = msg.indexOf('\n');
        return nl < 0 ? msg : msg.substring(0, nl);
    }
}
