package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.registry.ModelRegistry;
import io.sparkdl.registry.RegistryLock;
import io.sparkdl.report.HtmlReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * {@code spark-dl retrain}: the nightly job. Reads the lake partitions newer than the registry's
 * watermark, warm-starts a challenger from the champion (or trains from scratch the first time) on them
 * plus a replayed share of older partitions, evaluates champion and challenger on the same holdout,
 * writes a version either way and promotes the challenger when it is better by {@code --min-improvement}.
 * Crash-safe through {@link ModelRegistry}'s protocol and per-epoch checkpoints: a re-run (or
 * {@code --resume}) after a crash continues the interrupted run from its last completed epoch.
 */
final class Retrain {
    private static final Logger LOG = LoggerFactory.getLogger(Retrain.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> OPTIONS = Set.of("lake", "registry", "holdout", "epochs", "min-improvement",
            "replay-fraction", "freeze-layers", "master", "seed", "workers", "batch-size", "learning-rate",
            "metrics-json");
    /** Fault injection for crash tests: halt the JVM (as SIGKILL would) at the named step. */
    static final String HALT_ENV = "SPARK_DL_RETRAIN_HALT_AT";
    /** Exit code of a run that found the registry locked by another (EX_TEMPFAIL, as flock -n callers use). */
    static final int LOCKED = 75;

    private Retrain() {
    }

    static int run(CliArgs a) throws IOException {
        String lake = a.required("lake").replaceAll("/+$", "");
        String registryDir = a.required("registry");
        String holdout = SparkDl.existingDir(a.required("holdout"), "--holdout");
        int epochs = a.getInt("epochs", 3, 1);
        double minImprovement = a.getDouble("min-improvement", 0.001);
        double replay = a.getDouble("replay-fraction", 0.2);
        if (replay < 0 || replay > 1) {
            throw new CliArgs.UsageException("--replay-fraction must be in [0, 1] but was " + replay);
        }
        int freeze = a.getInt("freeze-layers", 0, 0);
        long seed = a.getLong("seed", 42);
        SparkSession spark = SparkDl.session(a, "spark-dl retrain");
        try {
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            if (!HadoopFiles.exists(lake, hc)) {
                throw new CliArgs.UsageException("--lake " + lake + " does not exist");
            }
            OutputPaths outputs = new OutputPaths("retrain", a.has("overwrite"), hc).input("--lake", lake)
                    .input("--holdout", holdout).output("--registry", registryDir, OutputPaths.Kind.REGISTRY)
                    .output("--metrics-json", a.get("metrics-json", null), OutputPaths.Kind.METRICS).check();
            try (RegistryLock lock = RegistryLock.acquire(registryDir, hc, RegistryLock.DEFAULT_LEASE)) {
                return run(a, spark, hc, outputs, lock, lake, registryDir, holdout, epochs, minImprovement, replay,
                        freeze, seed);
            } catch (RegistryLock.HeldException e) {
                System.err.println("spark-dl retrain: " + e.getMessage());
                return LOCKED;
            }
        } finally {
            spark.stop();
        }
    }

    private static int run(CliArgs a, SparkSession spark, Configuration hc, OutputPaths outputs, RegistryLock lock,
                           String lake, String registryDir, String holdout, int epochs, double minImprovement,
                           double replay, int freeze, long seed) throws IOException {
        {
            ModelRegistry reg = ModelRegistry.open(registryDir, hc);
            List<String> partitions = partitions(spark, lake, hc);
            String wm = reg.watermark();
            List<String> fresh = partitions.stream().filter(p -> wm == null || p.compareTo(wm) > 0).toList();
            List<String> older = partitions.stream().filter(p -> wm != null && p.compareTo(wm) <= 0).toList();
            JsonNode pending = reg.inProgress();
            if (a.has("resume") && pending == null) {
                throw new CliArgs.UsageException("--resume: the registry " + registryDir + " has no interrupted run");
            }
            if (fresh.isEmpty()) {
                System.out.printf("retrain: no lake partition newer than %s in %s; the registry is unchanged "
                        + "(champion %s)%n", wm, lake, reg.champion());
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("changed", false);
                m.put("watermark", wm);
                m.put("champion", reg.champion());
                SparkDl.writeMetrics(a, outputs, m);
                return 0;
            }
            String id;
            if (pending != null && pending.path("partitions").toString().equals(JSON.valueToTree(fresh).toString())) {
                id = pending.get("version").asText();
                LOG.info("retrain: continuing interrupted run {} on {}", id, fresh);
            } else {
                id = ModelRegistry.newVersionId(Instant.now());
                ObjectNode run = JSON.createObjectNode();
                run.put("version", id);
                run.set("partitions", JSON.valueToTree(fresh));
                run.put("started", Instant.now().toString());
                reg.begin(run);
            }
            halt("begun");
            String champion = reg.champion();
            // the champion's files are checked against its manifest before they are trusted
            CnnClassifierModel champ = champion == null ? null
                    : CnnClassifierModel.load(reg.verifiedVersion(champion) + "/model");
            int[] shape = champ != null ? champ.inputShape() : new int[]{28, 28, 1};
            ImageDecoder dec = new ImageDecoder().setSize(shape[0], shape[1]).setChannels(shape[2])
                    .setHandleInvalid("skip");
            Dataset<Row> newData = read(spark, lake, fresh);
            Dataset<Row> train = newData;
            List<String> replayed = new ArrayList<>();
            if (!older.isEmpty() && replay > 0) {
                train = train.unionByName(read(spark, lake, older).sample(false, replay, seed));
                replayed.addAll(older);
            }
            Dataset<Row> decoded = dec.transform(train).drop("content").persist(StorageLevel.MEMORY_AND_DISK());
            long images = decoded.count();
            if (images == 0) {
                throw new IllegalArgumentException("the new partitions " + fresh + " hold no decodable image");
            }
            LOG.info("retrain: version {}: {} images from {} new and {} replayed partitions ({}), {}", id, images,
                    fresh.size(), replayed.size(), champion == null ? "from scratch" : "warm start from " + champion,
                    freeze > 0 ? "first " + freeze + " layers frozen" : "no frozen layers");
            Instant t0 = Instant.now();
            CnnClassifier cnn = new CnnClassifier().setEpochs(epochs).setSeed(seed)
                    .setNumWorkers(a.getInt("workers", 0, 0)).setBatchSize(a.getInt("batch-size", 64, 1))
                    .setLearningRate(a.getDouble("learning-rate", 1e-3))
                    .setCheckpointDir(reg.workDir(id) + "/checkpoints");
            if (champ != null) {
                cnn.setInitialModel(reg.versionDir(champion) + "/model").setFrozenLayers(freeze);
            } else {
                cnn.setImageHeight(shape[0]).setImageWidth(shape[1]).setImageChannels(shape[2]);
            }
            CnnClassifierModel challenger = cnn.fit(decoded);
            decoded.unpersist();
            halt("trained");

            Dataset<Row> hold = dec.transform(ImageSources.readFolder(spark, holdout)).drop("content")
                    .persist(StorageLevel.MEMORY_AND_DISK());
            Dataset<Row> challengerOut = challenger.transform(hold);
            double challengerAcc = accuracy(challengerOut, challenger.labels());
            double championAcc = champ == null ? Double.NaN : accuracy(champ.transform(hold), champ.labels());
            ClassificationMetrics cm = ClassificationMetrics.compute(challengerOut, "label", "prediction",
                    challenger.labels());
            // a challenger that learned nothing (diverged, constant) is never promoted, not even over no champion
            boolean atChance = cm.atChanceLevel();
            if (atChance) {
                LOG.warn("retrain: version {} is at chance level on the holdout ({} against {} for guessing); it is "
                        + "kept as a candidate and never promoted", id, cm.accuracy(), cm.chanceAccuracy());
            }
            boolean promote = !atChance && (champ == null || challengerAcc - championAcc >= minImprovement);

            // written in place under its own id; valid only once its manifest is written, last
            String dir = reg.startVersion(id);
            String tmp = dir != null ? dir : reg.root() + "/work/" + id + "/discarded-" + UUID.randomUUID();
            challenger.write().overwrite().save(tmp + "/model");
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("version", id);
            facts.put("parent (champion at start)", champion == null ? "none (trained from scratch)" : champion);
            facts.put("new partitions", String.join(", ", fresh));
            facts.put("replayed partitions (fraction " + replay + ")", String.join(", ", replayed));
            facts.put("holdout accuracy (challenger)", challengerAcc);
            facts.put("holdout accuracy (champion)", Double.isNaN(championAcc) ? "n/a" : championAcc);
            facts.put("promoted", promote);
            facts.put("at chance level", atChance);
            new HtmlReport("spark-dl retrain: " + id).facts("Run", facts)
                    .trainingCurves(challenger.summary().history()).confusion(cm)
                    .gallery("Misclassified holdout images (first 24)",
                            HtmlReport.misclassified(challengerOut, challenger.labels(), 24))
                    .write(tmp + "/report", hc);
            ObjectNode metrics = JSON.createObjectNode();
            metrics.put("version", id);
            metrics.put("holdoutAccuracy", challengerAcc);
            if (Double.isNaN(championAcc)) {
                metrics.putNull("championHoldoutAccuracy");
            } else {
                metrics.put("championHoldoutAccuracy", championAcc);
            }
            metrics.put("promoted", promote);
            metrics.put("atChanceLevel", atChance);
            metrics.put("minImprovement", minImprovement);
            if (champion == null) {
                metrics.putNull("parentVersion");
            } else {
                metrics.put("parentVersion", champion);
            }
            metrics.set("partitions", JSON.valueToTree(fresh));
            metrics.set("replayedPartitions", JSON.valueToTree(replayed));
            metrics.put("trainingImages", images);
            metrics.set("labels", JSON.valueToTree(challenger.labels()));
            ObjectNode params = metrics.putObject("params");
            params.put("epochs", epochs);
            params.put("replayFraction", replay);
            params.put("freezeLayers", freeze);
            params.put("seed", seed);
            params.put("batchSize", cnn.getBatchSize());
            params.put("learningRate", cnn.getLearningRate());
            metrics.put("started", t0.toString());
            metrics.put("finished", Instant.now().toString());
            metrics.put("projectVersion", projectVersion());
            ArrayNode hist = metrics.putArray("history");
            challenger.summary().history().forEach(e -> hist.addObject().put("epoch", e.epoch()).put("loss", e.loss())
                    .put("trainAccuracy", e.trainAccuracy()));
            HadoopFiles.writeString(tmp + "/metrics.json", metrics.toPrettyString(), hc);
            lock.assertHeld();
            if (dir != null) {
                reg.publishVersion(id);
            } else {
                // the interrupted run had published this version already: it stands as written
                HadoopFiles.deleteRecursively(tmp, hc);
            }
            halt("published");
            String newWatermark = fresh.get(fresh.size() - 1);
            lock.assertHeld();
            reg.commit(id, newWatermark, promote, () -> halt("committed"));
            hold.unpersist();
            System.out.printf("retrain: version %s on %s: holdout accuracy %.4f (champion %s) -> %s; watermark %s%n",
                    id, fresh, challengerAcc, Double.isNaN(championAcc) ? "none" : String.format("%.4f", championAcc),
                    promote ? "promoted to champion" : "kept as a candidate, champion stays " + champion,
                    newWatermark);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("changed", true);
            m.put("version", id);
            m.put("promoted", promote);
            m.put("holdoutAccuracy", challengerAcc);
            m.put("championHoldoutAccuracy", Double.isNaN(championAcc) ? null : championAcc);
            m.put("watermark", newWatermark);
            m.put("champion", reg.champion());
            SparkDl.writeMetrics(a, outputs, m);
            return 0;
        }
    }

    /** Accuracy over all holdout images; classes the model never saw count as errors. */
    static double accuracy(Dataset<Row> predictions, String[] labels) {
        ClassificationMetrics m = ClassificationMetrics.compute(predictions, "label", "prediction", labels);
        long all = m.total() + m.unknown();
        return all == 0 ? Double.NaN : m.accuracy() * m.total() / all;
    }

    /**
     * The lake's date partitions, sorted: folders {@code ingest_date=YYYY-MM-DD} (each a class-per-folder
     * tree), or the distinct {@code ingest_date} values of a Parquet table.
     */
    static List<String> partitions(SparkSession spark, String lake, Configuration hc) {
        if (isTable(spark, lake)) {
            Dataset<Row> t = spark.read().parquet(lake);
            if (!List.of(t.columns()).contains("ingest_date")) {
                throw new IllegalArgumentException("Parquet lake " + lake + " has no ingest_date column; it has "
                        + String.join(", ", t.columns()));
            }
            List<String> dates = t.select(col("ingest_date").cast("string")).distinct()
                    .as(org.apache.spark.sql.Encoders.STRING()).collectAsList().stream()
                    .filter(java.util.Objects::nonNull).sorted().toList();
            for (String d : dates) {
                checkDate(d, "Parquet lake " + lake + ": ingest_date value");
            }
            return dates;
        }
        List<String> out = new ArrayList<>();
        for (String name : HadoopFiles.list(lake, hc)) {
            if (name.startsWith("ingest_date=")) {
                String d = name.substring("ingest_date=".length());
                checkDate(d, "lake partition " + lake + "/" + name + ":");
                out.add(d);
            }
        }
        java.util.Collections.sort(out);
        return out;
    }

    /** Partition values are real dates, checked before anything is trained: a bad one never becomes the watermark. */
    private static void checkDate(String value, String where) {
        try {
            ModelRegistry.date(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + " '" + value + "' is not a real date YYYY-MM-DD; rename or "
                    + "remove it (nothing was trained)");
        }
    }

    private static Dataset<Row> read(SparkSession spark, String lake, List<String> dates) {
        if (isTable(spark, lake)) {
            Dataset<Row> t = spark.read().parquet(lake);
            String bytes = null;
            for (StructField f : t.schema().fields()) {
                if (f.dataType() instanceof BinaryType) {
                    bytes = f.name();
                    break;
                }
            }
            if (bytes == null || !List.of(t.columns()).contains("label")) {
                throw new IllegalArgumentException("Parquet lake " + lake + " needs a binary image column, a label "
                        + "column and ingest_date; it has " + String.join(", ", t.columns()));
            }
            return t.where(col("ingest_date").cast("string").isin(dates.toArray()))
                    .select(org.apache.spark.sql.functions.concat(lit("table:"), col("ingest_date").cast("string"))
                            .as("path"), col("label").cast("string").as("label"), col(bytes).as("content"));
        }
        Dataset<Row> all = null;
        for (String d : dates) {
            Dataset<Row> p = ImageSources.readFolder(spark, lake + "/ingest_date=" + d);
            all = all == null ? p : all.unionByName(p);
        }
        return all;
    }

    private static boolean isTable(SparkSession spark, String lake) {
        return HadoopFiles.list(lake, spark.sparkContext().hadoopConfiguration()).stream()
                .anyMatch(n -> n.endsWith(".parquet") || n.equals("_SUCCESS"));
    }

    private static String projectVersion() {
        return SparkDl.projectVersion();
    }

    private static void halt(String step) {
        if (step.equals(System.getenv(HALT_ENV))) {
            System.err.println("retrain: halting at '" + step + "' (" + HALT_ENV + ")");
            System.err.flush();
            Runtime.getRuntime().halt(137);
        }
    }
}
