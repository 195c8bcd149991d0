package io.sparkdl.pipelines;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.EpochStatsCodec;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.train.EpochStats;
import io.sparkdl.train.ValidationSplit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

/**
 * {@code spark-dl train}: fits a {@link CnnClassifier} (or, with {@code --ensemble N}, an
 * {@link EnsembleClassifier} of N of them) on a class-per-folder image tree and saves the model. Every
 * training option is a CnnClassifier param: the classifier's validators judge the values and its defaults
 * apply to what is not given.
 */
@Command(name = "train", description = "Train a CNN (or an ensemble of CNNs) on a class-per-folder image tree "
        + "and save the model. The training options are CnnClassifier's params; what is not given keeps the "
        + "classifier's default (shown).")
final class TrainCommand extends Job {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    /** The classifier every training option sets. */
    final CnnClassifier cnn = new CnnClassifier();
    /** The ensemble of {@code --ensemble N}: its own params (members, combination), the classifier for the rest. */
    final EnsembleClassifier ensemble = new EnsembleClassifier();

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Training images: one folder per "
            + "class, the folder name is the label.")
    String data;
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Where the model is saved.")
    String model;
    /** {@code HxW} of {@code --image-size}, or of a pipeline definition's preprocessing.imageSize; null: none. */
    String imageSize;
    /** Whether the command line gave {@code --image-size} (not only a pipeline definition). */
    boolean imageSizeGiven;

    @Option(names = "--image-size", paramLabel = "HxW", description = "Decode (and train) at this size; sets "
            + "CnnClassifier's height and width (so not together with --height or --width). Default: the arch's "
            + "input size, else the data's.")
    void imageSize(String hxw) {
        imageSize = hxw;
        imageSizeGiven = hxw != null;
    }
    @Option(names = "--normalize", description = "Fit per-channel mean and standard deviation on the training "
            + "images; the model keeps them for evaluate and predict.")
    boolean normalize;
    @Mixin
    final SharedOptions.Master master = new SharedOptions.Master();
    @Mixin
    final SharedOptions.MetricsJson metricsJson = new SharedOptions.MetricsJson();
    @Mixin
    final SharedOptions.ReportDir reportDir = new SharedOptions.ReportDir();
    @Mixin
    final SharedOptions.FailOnBadFiles failOnBadFiles = new SharedOptions.FailOnBadFiles();
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    /** Whether a pipeline definition asked for an ensemble (its ensemble section). */
    boolean ensembleFromDefinition;
    /** Where a pipeline definition's arch came from (its file), for messages. */
    String archSource;

    @Override
    void addParamOptions(CommandSpec spec) {
        String[] none = new String[0];
        params.add(spec, cnn, "arch", null, none, TrainCommand::archText, null)
                .add(spec, cnn, "epochs", "batchSize", "updater", "engine", "precision", "learningRate", "lrSchedule",
                        "momentum", "weightDecay", "l2", "seed")
                .add(spec, cnn, "numWorkers", new String[]{"--workers"})
                .add(spec, cnn, "averagingFrequency", "blockMomentum", "validationFraction")
                .add(spec, cnn, "earlyStoppingPatience", new String[]{"--early-stopping"})
                .add(spec, cnn, "augmentation", new String[]{"--augment"})
                .add(spec, cnn, "initialModel", "initialClasses")
                .add(spec, cnn, "frozenLayers", new String[]{"--freeze-layers"})
                .add(spec, cnn, "height", "width", "channels")
                .add(spec, cnn, "checkpointDir", "trainAccuracySample")
                .addAs(spec, ensemble, "numMembers", "ensemble", "one CNN; given: an EnsembleClassifier of N CNNs "
                        + "configured by the options here, member i seeded seed + i")
                .add(spec, ensemble, "combination", null, new String[]{"--combine", "--method"});
    }

    /** {@code --arch}: a built-in name or JSON as it is, else the JSON file it names. */
    static String archText(String arch) {
        String t = arch.trim();
        if (NetworkSpec.builtIns().contains(t.toLowerCase(Locale.ROOT)) || t.startsWith("{")) {
            return arch;
        }
        File f = new File(arch);
        if (!f.isFile()) {
            throw new UsageException("--arch must be one of " + NetworkSpec.builtIns()
                    + " or a JSON file, but " + arch + " is neither");
        }
        try {
            return Files.readString(f.toPath(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read --arch " + arch, e);
        }
    }

    /** Whether this run trains an ensemble: {@code --ensemble N} with N > 1. */
    boolean isEnsemble() {
        return (params.given("--ensemble") || ensembleFromDefinition) && ensemble.getNumMembers() > 1;
    }

    /**
     * The ensemble of {@code --ensemble N}: N copies of the configured classifier (its estimator), member i
     * seeded with the classifier's seed + i, so every training option reaches every member.
     */
    EnsembleClassifier ensembleOfClassifier() {
        return ensemble.setEstimator(cnn).setSeed(cnn.getSeed());
    }

    /** Sets the given params and checks them together, as the classifier does before fitting. */
    void configure() {
        params.apply();
        if (params.given("--combination") && !params.given("--ensemble") && !ensembleFromDefinition) {
            throw new UsageException("--combination needs --ensemble N");
        }
        for (String side : new String[]{"--height", "--width"}) {
            if (imageSizeGiven && params.given(side)) {
                throw new UsageException("--image-size " + imageSize + " and " + side + " " + params.givenText(side)
                        + " both set " + side.substring(2) + ": give one (--image-size HxW, or --height H --width W)");
            }
        }
        if (imageSize != null) {
            int[] hw = Jobs.parseSize(imageSize);
            ParamOptions.set(cnn, cnn.height(), hw[0], "--image-size");
            ParamOptions.set(cnn, cnn.width(), hw[1], "--image-size");
        }
        NetworkSpec spec = NetworkSpec.parse(cnn.getArch());
        int[] in = inputShape(spec);
        if (in[0] > 0 && cnn.getInitialModel().isEmpty()) {
            try {
                spec.checkInput(in[0], in[1], in[2] > 0 ? in[2] : 1);
            } catch (IllegalArgumentException e) {
                throw new UsageException((imageSize != null ? "--image-size " + imageSize + " and " : "")
                        + "--arch " + (params.given("--arch") ? params.givenText("--arch")
                        : archSource != null ? archSource : cnn.getArch()) + " do not fit: "
                        + e.getMessage());
            }
        }
        if (!cnn.getInitialModel().isEmpty()) {
            Jobs.existingDir(cnn.getInitialModel(), "--initial-model");
        }
        StructType schema = new StructType().add("image", ImageStruct.schema()).add("label", DataTypes.StringType);
        try {
            cnn.setFeaturesCol("image").setLabelCol("label").transformSchema(schema);
            if (isEnsemble()) {
                ensemble.setFeaturesCol("image").setLabelCol("label").transformSchema(schema);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** {height, width, channels} to decode at: the classifier's, else the arch's, else 0 (the data's). */
    int[] inputShape(NetworkSpec spec) {
        int[] d = spec.defaultInput();
        int h = cnn.getHeight() > 0 ? cnn.getHeight() : d != null ? d[0] : 0;
        int w = cnn.getWidth() > 0 ? cnn.getWidth() : d != null ? d[1] : 0;
        int c = cnn.getChannels() > 0 ? cnn.getChannels() : d != null ? d[2] : 0;
        return new int[]{h, w, c};
    }

    @Override
    public Integer call() throws IOException {
        configure();
        String dataDir = Jobs.existingDir(data, "--data");
        int[] shape = inputShape(NetworkSpec.parse(cnn.getArch()));
        double valFraction = cnn.getValidationFraction();
        SparkSession spark = Jobs.session(master.value, "spark-dl train");
        try {
            OutputPaths outputs = new OutputPaths("train", overwrite.value, spark.sparkContext().hadoopConfiguration())
                    .input("--data", dataDir).input("--initial-model", cnn.getInitialModel().isEmpty() ? null
                            : cnn.getInitialModel())
                    .output("--model", model, OutputPaths.Kind.MODEL)
                    .output("--metrics-json", metricsJson.value, OutputPaths.Kind.METRICS)
                    .output("--report-dir", reportDir.value, OutputPaths.Kind.REPORT).check();
            // A single CNN: the rows are cached on disk only, so that the executors' memory goes to the training
            // blocks cut from them (the rows are unpersisted once the blocks are cached, below); an ensemble's
            // members each cut their blocks from the rows, which then stay in memory where they fit.
            Jobs.Loaded in = Jobs.load(spark, dataDir, shape[0], shape[1], shape[2], failOnBadFiles.value, true,
                    isEnsemble() ? StorageLevel.MEMORY_AND_DISK() : StorageLevel.DISK_ONLY());
            // The rows the classifier holds out itself (validationFraction): the same seeded hash of each image's
            // pixels and label, so that normalisation fits on the training rows only and the metrics below are
            // measured on exactly the held-out rows.
            Dataset<Row> rows = in.good().withColumn("isValidation", valFraction > 0
                    ? ValidationSplit.isValidation(in.good().schema(), cnn.getFeaturesCol(), cnn.getLabelCol(),
                    valFraction, cnn.getSeed()) : lit(false));
            if (normalize) {
                io.sparkdl.image.ImageNormalizerModel norm = new io.sparkdl.image.ImageNormalizer()
                        .setChannels(shape[2]).fit(rows.where(not(col("isValidation"))));
                LOG.info("Normalisation fitted on the training images: {}", norm.normalization());
                rows = norm.transform(rows);
            }
            if (!isEnsemble()) {
                // One cached copy of the lake at a time: once the classifier has its training blocks (uint8, the
                // only data the epochs read), the decoded rows go; the prediction pass below decodes again.
                // (An ensemble's members each read the rows: they stay cached until all are fitted.)
                cnn.whenBlocksCached(() -> {
                    in.all().unpersist(false);
                    LOG.info("Training blocks cached: the decoded rows are no longer cached");
                });
            }
            long t0 = System.nanoTime();
            Jobs.AnyModel fitted = fit(rows, outputs);
            double fitSeconds = (System.nanoTime() - t0) / 1e9;
            LOG.info("Saved model to {}", model);
            Dataset<Row> evalRows = valFraction > 0 ? rows.where(col("isValidation")) : rows;
            String on = valFraction > 0 ? "validation" : "training";
            Dataset<Row> predictions = fitted.transform(evalRows);
            if (reportDir.value != null) {
                // the metrics and the report's gallery read the predictions: one pass decodes and predicts
                predictions = predictions.persist(StorageLevel.MEMORY_AND_DISK());
            }
            ClassificationMetrics m = ClassificationMetrics.compute(predictions, "label", "prediction",
                    fitted.labels());
            System.out.printf("%s accuracy %.4f, weighted F1 %.4f on %d images%n", on, m.accuracy(), m.weightedF1(),
                    m.total());
            if (m.atChanceLevel()) {
                String what = String.format("the model is at chance level: %s accuracy %.4f against %.4f for "
                        + "guessing; it learned nothing usable (a diverged run? try a smaller --learning-rate)",
                        on, m.accuracy(), m.chanceAccuracy());
                LOG.warn(what);
                System.out.println("WARNING: " + what);
            }
            Map<String, Object> out = Jobs.metrics(m, in);
            out.put("evaluatedOn", on);
            out.put("history", history(fitted.history()));
            Jobs.writeMetrics(metricsJson.value, outputs, out);
            if (reportDir.value != null) {
                Map<String, Object> facts = new LinkedHashMap<>();
                facts.put("data", dataDir);
                facts.put("model", model);
                facts.put("images used", in.numGood());
                facts.put("bad files", in.bad().size());
                facts.put("network", NetworkSpec.parse(cnn.getArch()).name());
                facts.put("training", fitted.description());
                facts.put("epochs", fitted.history().size());
                facts.put("fit time (s, with data preparation)", fitSeconds);
                facts.put("training images/s", fitted.history().stream()
                        .mapToDouble(EpochStats::imagesPerSecond).average().orElse(Double.NaN));
                facts.put("metrics below on", on + " set");
                if (m.atChanceLevel()) {
                    facts.put("WARNING", "at chance level: accuracy " + m.accuracy() + ", guessing "
                            + m.chanceAccuracy());
                }
                Jobs.report(reportDir.value, outputs, "spark-dl train: " + new File(model).getName(), facts,
                        fitted.history(), m, predictions, fitted.labels(), in.bad());
                predictions.unpersist();
            }
            in.all().unpersist();
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** Fits the classifier or the ensemble and saves it to --model. */
    private Jobs.AnyModel fit(Dataset<Row> rows, OutputPaths outputs) {
        if (isEnsemble()) {
            // the held-out rows stay out of training; the ensemble measures its members on its own validation
            // share of the rest
            EnsembleClassifierModel ens = ensembleOfClassifier().fit(rows.where(not(col("isValidation"))));
            outputs.write(model, OutputPaths.Kind.MODEL, tmp -> ens.write().save(tmp));
            for (int i = 0; i < ens.members().length; i++) {
                System.out.printf("member %d: validation accuracy %.4f, weight %.3f%n", i + 1,
                        ens.validationAccuracies()[i], ens.weights()[i]);
            }
            return Jobs.AnyModel.of(ens);
        }
        CnnClassifierModel cm = cnn.fit(rows);
        outputs.write(model, OutputPaths.Kind.MODEL, tmp -> cm.write().save(tmp));
        System.out.print(cm.summary());
        return Jobs.AnyModel.of(cm);
    }

    private static List<Map<String, Object>> history(List<EpochStats> epochs) {
        return epochs.stream().map(EpochStatsCodec::toMap).toList();
    }
}
