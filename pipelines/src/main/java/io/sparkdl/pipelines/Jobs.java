package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.report.HtmlReport;
import io.sparkdl.train.EpochStats;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/** What the commands share: the Spark session, reading an image folder, metrics, reports, saved models. */
final class Jobs {
    private static final Logger LOG = LoggerFactory.getLogger(Jobs.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Jobs() {
    }

    /**
     * The session of a job. The master: {@code --master} wins, then one set by spark-submit (spark.master),
     * then local[*]. Settings of the spark-defaults file the launcher names ({@code -Dspark-dl.defaults}) apply
     * unless set as system properties. Spark's log level is lowered to WARN only when no log4j2 configuration
     * was given (the launcher gives conf/log4j2.properties, which already does; a user's own wins).
     */
    static SparkSession session(String master, String name) {
        SparkSession.Builder b = SparkSession.builder().appName(name)
                .master(master != null ? master : System.getProperty("spark.master", "local[*]"));
        applyDefaults(b, System.getProperty("spark-dl.defaults"));
        SparkSession spark = b.getOrCreate();
        if (!log4jConfigured()) {
            spark.sparkContext().setLogLevel("WARN");
        }
        LOG.info("Spark {} master {}; {}", spark.version(), spark.sparkContext().master(), Nd4jBackend.init());
        return spark;
    }

    /** Whether a log4j2 configuration was given: a system property naming one, or one on the classpath. */
    static boolean log4jConfigured() {
        if (System.getProperty("log4j2.configurationFile") != null
                || System.getProperty("log4j.configurationFile") != null) {
            return true;
        }
        ClassLoader cl = Jobs.class.getClassLoader();
        for (String f : List.of("log4j2-test.properties", "log4j2-test.xml", "log4j2.properties", "log4j2.xml",
                "log4j2.yaml", "log4j2.json")) {
            if (cl.getResource(f) != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Applies the settings of a spark-defaults.conf file, read as Spark reads it (Java properties: {@code key
     * value} and {@code key=value} lines alike), unless the key is already set as a system property.
     */
    static void applyDefaults(SparkSession.Builder b, String file) {
        defaults(file).forEach(b::config);
    }

    /** The settings of a spark-defaults file that apply: those not set as system properties (none without a file). */
    static Map<String, String> defaults(String file) {
        Map<String, String> out = new java.util.TreeMap<>();
        if (file == null || !new File(file).isFile()) {
            return out;
        }
        Properties p = new Properties();
        try (java.io.Reader r = Files.newBufferedReader(new File(file).toPath(), java.nio.charset.StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot read " + file, e);
        }
        for (String k : p.stringPropertyNames()) {
            if (System.getProperty(k) == null) {
                out.put(k, p.getProperty(k).trim());
            }
        }
        return out;
    }

    static String existingDir(String path, String option) {
        File f = new File(path);
        if (!path.contains("://") && !f.isDirectory()) {
            throw new UsageException(option + " " + path + (f.exists() ? " is not a folder" : " does not exist"));
        }
        return path;
    }

    /** {@code HxW} as {height, width}, or null for null. */
    static int[] parseSize(String s) {
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
        throw new UsageException("--image-size must look like 28x28, each side between 1 and "
                + NetworkSpec.MAX_SIDE + ", but was '" + s + "'");
    }

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
                throw new UsageException("--model " + dir + " holds a " + cls
                        + ", not a CnnClassifierModel or EnsembleClassifierModel");
            }
            return of(CnnClassifierModel.load(dir));
        }

        Dataset<Row> transform(Dataset<Row> d) {
            return model.transform(d);
        }
    }

    /** Decoded images of a folder, with the files that could not be used. */
    record Loaded(Dataset<Row> all, Dataset<Row> good, long numGood, List<Map<String, String>> bad) {
    }

    static Loaded load(SparkSession spark, String dir, int h, int w, int channels, boolean failOnBad,
                       boolean needLabels) {
        return load(spark, dir, h, w, channels, failOnBad, needLabels, StorageLevel.MEMORY_AND_DISK());
    }

    /**
     * The decoded images of {@code dir}, cached at {@code level} (the bad files are listed and the good ones
     * counted from the cache), with the files that could not be used.
     */
    static Loaded load(SparkSession spark, String dir, int h, int w, int channels, boolean failOnBad,
                       boolean needLabels, StorageLevel level) {
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
        decoded = decoded.drop("content").persist(level);
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

    /** The report of train and evaluate: facts, training curves, confusion matrix, misclassified images. */
    static void report(String dir, OutputPaths outputs, String title, Map<String, Object> facts,
                       List<EpochStats> history, ClassificationMetrics m, Dataset<Row> predictions, String[] labels,
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
        String path = writeReport(outputs, dir, r, predictions.sparkSession().sparkContext().hadoopConfiguration());
        LOG.info("Wrote report to {}", path);
        System.out.println("report: " + path);
    }

    static Map<String, Object> metrics(ClassificationMetrics m, Loaded in) {
        Map<String, Object> out = new LinkedHashMap<>(m.toMap());
        out.put("numImages", in.numGood);
        out.put("badFiles", in.bad);
        return out;
    }

    /** The report's index.html in DIR, written as every output is (see {@link OutputPaths}); its path. */
    static String writeReport(OutputPaths outputs, String dir, HtmlReport r, org.apache.hadoop.conf.Configuration conf) {
        outputs.write(dir, OutputPaths.Kind.REPORT, tmp -> r.write(tmp, conf));
        return dir.replaceAll("/+$", "") + "/index.html";
    }

    /** The metrics JSON of {@code --metrics-json} (none when null), marked as spark-dl's for --overwrite. */
    static void writeMetrics(String file, OutputPaths outputs, Map<String, Object> metrics) throws IOException {
        if (file != null) {
            Map<String, Object> marked = new LinkedHashMap<>();
            marked.put(OutputPaths.METRICS_MARK, "spark-dl " + projectVersion());
            marked.putAll(metrics);
            outputs.writeBytes(file, OutputPaths.Kind.METRICS, JSON.writeValueAsBytes(marked));
            LOG.info("Wrote metrics to {}", file);
        }
    }

    static String projectVersion() {
        String v = SparkDl.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    /** The first line of the innermost helpful message of a failure. */
    static String rootMessage(Throwable e) {
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
