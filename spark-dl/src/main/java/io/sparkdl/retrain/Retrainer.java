package io.sparkdl.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.io.EpochStatsCodec;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.registry.ModelRegistry;
import io.sparkdl.registry.RegistryLock;
import io.sparkdl.report.HtmlReport;
import io.sparkdl.train.EpochStats;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Champion/challenger retraining of any CNN template against a versioned {@link ModelRegistry}: the nightly
 * job of {@code spark-dl retrain} as a library call.
 *
 * <p>A {@link #run()} takes the registry's lock, reads the lake partitions newer than the registry's
 * watermark, fits a copy of the template on them plus a replayed share of older partitions (a warm start
 * from the champion's network when there is one), evaluates challenger and champion on the same holdout,
 * writes a version either way and promotes the challenger when its accuracy is higher by the policy's
 * {@code minImprovement} and it is not at chance level. The registry's protocol makes it crash-safe: a
 * run after a crash continues the interrupted version from its last checkpointed epoch.
 *
 * <p>The template is a {@link CnnClassifier} (its images are decoded here, at the champion's input size or
 * the classifier's height/width/channels) or a {@link Pipeline} whose last stage is a CnnClassifier and whose
 * first stages take the lake's raw rows ({@code path}, {@code label}, {@code content}: an
 * {@link ImageDecoder}, then e.g. an ImageNormalizer and an ImageAugmenter), refitted on every run. On a
 * warm start the classifier starts from the champion's network (its architecture and input size win over the
 * template's), whether the champion was saved as a CnnClassifierModel or a PipelineModel.
 *
 * <pre>{@code
 * RetrainOutcome out = new Retrainer(spark, new CnnClassifier().setArch("lenet").setEpochs(3))
 *         .setLake(DateLake.at(spark, "hdfs:///lake/images"))
 *         .setRegistry("hdfs:///models/registry")
 *         .setHoldout("hdfs:///lake/holdout")
 *         .setPolicy(RetrainPolicy.defaults().withMinImprovement(0.002))
 *         .run();
 * }</pre>
 * The session is the caller's: a run never stops it.
 */
public final class Retrainer {
    private static final Logger LOG = LoggerFactory.getLogger(Retrainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GALLERY = 24;

    private final SparkSession spark;
    private final Estimator<?> template;
    private final CnnClassifier classifier;
    private LakeSource lake;
    private String registry;
    private Dataset<Row> holdout;
    private RetrainPolicy policy = RetrainPolicy.defaults();
    private RetrainListener listener = (step, version) -> { };
    private boolean requireInterruptedRun;
    private boolean writeReport = true;
    private Duration lease = RegistryLock.DEFAULT_LEASE;
    private Duration settle = RegistryLock.DEFAULT_SETTLE;

    /**
     * @param template a {@link CnnClassifier}, or a {@link Pipeline} whose last stage is one; it is copied on
     *                 every run, never changed
     */
    public Retrainer(SparkSession spark, Estimator<?> template) {
        this.spark = Objects.requireNonNull(spark, "spark");
        this.template = Objects.requireNonNull(template, "template");
        this.classifier = classifierOf(template);
    }

    /** The lake to read partitions from; see {@link DateLake}. */
    public Retrainer setLake(LakeSource v) {
        lake = Objects.requireNonNull(v, "lake");
        return this;
    }

    /** The registry's root folder (local or Hadoop URI); created on the first run. */
    public Retrainer setRegistry(String root) {
        registry = Objects.requireNonNull(root, "registry").replaceAll("/+$", "");
        return this;
    }

    /** The holdout both models are judged on: rows with {@code path}, {@code label} and {@code content}. */
    public Retrainer setHoldout(Dataset<Row> rows) {
        holdout = Objects.requireNonNull(rows, "holdout");
        return this;
    }

    /** The holdout as a class-per-folder tree. */
    public Retrainer setHoldout(String folder) {
        return setHoldout(ImageSources.readFolder(spark, folder));
    }

    public Retrainer setPolicy(RetrainPolicy v) {
        policy = Objects.requireNonNull(v, "policy");
        return this;
    }

    /** Told at each step of the registry protocol (progress, or fault injection in crash tests). */
    public Retrainer setListener(RetrainListener v) {
        listener = Objects.requireNonNull(v, "listener");
        return this;
    }

    /** When true, a run fails unless the registry records an interrupted run to continue (a deliberate resume). */
    public Retrainer setRequireInterruptedRun(boolean v) {
        requireInterruptedRun = v;
        return this;
    }

    /** Whether each version gets an HTML report under {@code report/} (default true). */
    public Retrainer setWriteReport(boolean v) {
        writeReport = v;
        return this;
    }

    /** The registry lock's lease (default {@link RegistryLock#DEFAULT_LEASE}). */
    public Retrainer setLockLease(Duration v) {
        lease = Objects.requireNonNull(v, "lease");
        return this;
    }

    /**
     * How long a run waits before it reads back the lock it wrote on a store without an atomic create-if-absent
     * (default {@link RegistryLock#DEFAULT_SETTLE}; not used on a local disk or HDFS).
     */
    public Retrainer setLockSettle(Duration v) {
        if (v == null || v.isNegative()) {
            throw new IllegalArgumentException("lock settle interval must be >= 0, got " + v);
        }
        settle = v;
        return this;
    }

    public Estimator<?> getTemplate() {
        return template;
    }

    public RetrainPolicy getPolicy() {
        return policy;
    }

    /**
     * One retraining run. Throws {@link RegistryLock.HeldException} when another run holds the registry
     * (nothing is read or written then), or when this run's lock was overwritten or taken over by another run
     * (found before publishing and before committing: nothing published or committed); IllegalArgumentException
     * for a bad lake or template, and IllegalStateException when the champion's files do not match their manifest.
     */
    public RetrainOutcome run() {
        if (lake == null || registry == null || holdout == null) {
            throw new IllegalStateException("Retrainer needs a lake, a registry and a holdout; missing: "
                    + (lake == null ? "lake " : "") + (registry == null ? "registry " : "")
                    + (holdout == null ? "holdout" : "").trim());
        }
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        try (RegistryLock lock = RegistryLock.acquire(registry, hc, lease, settle)) {
            return run(ModelRegistry.open(registry, hc), lock, hc);
        }
    }

    private RetrainOutcome run(ModelRegistry reg, RegistryLock lock, Configuration hc) {
        List<String> partitions = lake.partitions();
        String wm = reg.watermark();
        List<String> fresh = partitions.stream().filter(p -> wm == null || p.compareTo(wm) > 0).toList();
        List<String> older = partitions.stream().filter(p -> wm != null && p.compareTo(wm) <= 0).toList();
        JsonNode pending = reg.inProgress();
        if (requireInterruptedRun && pending == null) {
            throw new IllegalStateException("resume: the registry " + registry + " has no interrupted run");
        }
        if (fresh.isEmpty()) {
            RetrainOutcome out = RetrainOutcome.unchanged(wm, reg.champion());
            LOG.info("{} in {}", out, lake.describe());
            return out;
        }
        boolean continued = pending != null
                && pending.path("partitions").toString().equals(JSON.valueToTree(fresh).toString());
        String id;
        if (continued) {
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
        listener.reached(RetrainListener.Step.BEGUN, id);
        String championId = reg.champion();
        // the champion's files are checked against its manifest before they are trusted
        Champion champ = championId == null ? null : Champion.load(reg.verifiedVersion(championId) + "/model", hc);

        Dataset<Row> raw = lake.read(fresh);
        List<String> replayed = new ArrayList<>();
        if (!older.isEmpty() && policy.replayFraction() > 0) {
            raw = raw.unionByName(lake.read(older).sample(false, policy.replayFraction(), policy.seed()));
            replayed.addAll(older);
        }
        boolean pipeline = template instanceof Pipeline;
        int[] shape = pipeline ? null : champ != null ? champ.network.inputShape() : templateShape();
        Dataset<Row> train = (pipeline ? raw : decoder(shape).transform(raw).drop("content"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        Instant t0 = Instant.now();
        long images = train.count();
        if (images == 0) {
            throw new IllegalArgumentException("the new partitions " + fresh + " of " + lake.describe() + " hold no "
                    + (pipeline ? "image" : "decodable image"));
        }
        LOG.info("retrain: version {}: {} images from {} new and {} replayed partitions ({}), {}", id, images,
                fresh.size(), replayed.size(), championId == null ? "from scratch" : "warm start from " + championId,
                policy.frozenLayers() > 0 ? "first " + policy.frozenLayers() + " layers frozen" : "no frozen layers");
        CnnClassifier cnn = classifier.copy(ParamMap.empty()).setCheckpointDir(reg.workDir(id) + "/checkpoints");
        if (champ != null) {
            cnn.setInitialModel(champ.networkPath).setInitialClasses("keep").setFrozenLayers(policy.frozenLayers());
        } else if (!pipeline && cnn.getHeight() == 0) {
            cnn.setHeight(shape[0]).setWidth(shape[1]).setChannels(shape[2]);
        }
        Model<?> challenger = fit(cnn, train);
        train.unpersist();
        CnnClassifierModel challengerNet = networkOf(challenger);
        listener.reached(RetrainListener.Step.TRAINED, id);

        boolean cacheHoldout = holdout.storageLevel().equals(StorageLevel.NONE());
        Dataset<Row> hold = cacheHoldout ? holdout.persist(StorageLevel.MEMORY_AND_DISK()) : holdout;
        Dataset<Row> challengerOut = predict(challenger, hold);
        ClassificationMetrics cm = ClassificationMetrics.compute(challengerOut, challengerNet.getLabelCol(),
                challengerNet.getPredictionCol(), challengerNet.labels());
        double challengerAcc = accuracy(cm);
        double championAcc = champ == null ? Double.NaN : accuracy(ClassificationMetrics.compute(
                predict(champ.model, hold), champ.network.getLabelCol(), champ.network.getPredictionCol(),
                champ.network.labels()));
        boolean atChance = cm.atChanceLevel();
        boolean promote = !atChance && (champ == null || challengerAcc - championAcc >= policy.minImprovement());
        String decision = decision(cm, challengerAcc, championAcc, atChance, promote);
        if (atChance) {
            LOG.warn("retrain: version {} is at chance level on the holdout ({} against {} for guessing); it is "
                    + "kept as a candidate and never promoted", id, cm.accuracy(), cm.chanceAccuracy());
        }

        // written in place under its own id; valid only once its manifest is written, last
        String dir = reg.startVersion(id);
        String tmp = dir != null ? dir : reg.workDir(id) + "/discarded-" + UUID.randomUUID();
        try {
            ((MLWritable) challenger).write().overwrite().save(tmp + "/model");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write the model of version " + id + " to " + tmp, e);
        }
        VersionMetrics metrics = new VersionMetrics(id, challengerAcc, champ == null ? null : championAcc, promote,
                decision, atChance, policy.minImprovement(), championId, template.getClass().getSimpleName(), fresh,
                replayed, images, List.of(challengerNet.labels()), params(cnn), cm.toMap(), t0.toString(),
                Instant.now().toString(), projectVersion(), history(challengerNet.summary().history()));
        if (writeReport) {
            report(metrics, challengerNet, cm, challengerOut, tmp + "/report", hc);
        }
        HadoopFiles.writeString(tmp + "/metrics.json", metrics.toJson(), hc);
        if (cacheHoldout) {
            hold.unpersist();
        }
        lock.assertHeld();
        if (dir != null) {
            reg.publishVersion(id);
        } else {
            // the interrupted run had published this version already: it stands as written
            HadoopFiles.deleteRecursively(tmp, hc);
        }
        listener.reached(RetrainListener.Step.PUBLISHED, id);
        String newWatermark = fresh.get(fresh.size() - 1);
        lock.assertHeld();
        reg.commit(id, newWatermark, promote, () -> listener.reached(RetrainListener.Step.COMMITTED, id));
        RetrainOutcome out = new RetrainOutcome(true, id, championId, fresh, replayed, images, challengerAcc,
                championAcc, atChance, promote, decision, newWatermark, reg.champion(), reg.versionDir(id), continued);
        LOG.info("{}", out);
        return out;
    }

    /** The template's CnnClassifier: itself, or a Pipeline's last stage. */
    private static CnnClassifier classifierOf(Estimator<?> template) {
        if (template instanceof CnnClassifier c) {
            return c;
        }
        if (template instanceof Pipeline p) {
            PipelineStage[] stages = p.getStages();
            if (stages.length > 0 && stages[stages.length - 1] instanceof CnnClassifier c) {
                return c;
            }
            throw new IllegalArgumentException("Retrainer: the template Pipeline must end with a CnnClassifier, but its "
                    + "stages are " + Arrays.stream(stages).map(s -> s.getClass().getSimpleName()).toList());
        }
        throw new IllegalArgumentException("Retrainer: the template must be a CnnClassifier or a Pipeline ending with "
                + "one, but was " + template.getClass().getName());
    }

    /** The input size a CnnClassifier template trains from scratch at: its own, else its architecture's default. */
    private int[] templateShape() {
        if (classifier.getHeight() > 0) {
            int c = classifier.getChannels();
            return new int[]{classifier.getHeight(), classifier.getWidth(), c > 0 ? c : 1};
        }
        int[] d = NetworkSpec.parse(classifier.getArch()).defaultInput();
        if (d == null) {
            throw new IllegalArgumentException("Retrainer: the template CnnClassifier's arch has no default input size;"
                    + " set its image height and width (or use a Pipeline with an ImageDecoder)");
        }
        return d;
    }

    private static ImageDecoder decoder(int[] shape) {
        return new ImageDecoder().setSize(shape[0], shape[1]).setChannels(shape[2]).setHandleInvalid("skip");
    }

    /** Fits the template with its classifier replaced by {@code cnn} (a Pipeline's other stages are copies). */
    private Model<?> fit(CnnClassifier cnn, Dataset<Row> train) {
        if (template instanceof Pipeline p) {
            PipelineStage[] stages = p.getStages().clone();
            for (int i = 0; i < stages.length - 1; i++) {
                stages[i] = stages[i].copy(ParamMap.empty());
            }
            stages[stages.length - 1] = cnn;
            return new Pipeline(p.uid()).setStages(stages).fit(train);
        }
        return cnn.fit(train);
    }

    /** Predictions of a CnnClassifierModel (decoding the raw rows at its input size) or a PipelineModel. */
    private static Dataset<Row> predict(Transformer model, Dataset<Row> raw) {
        if (model instanceof CnnClassifierModel m) {
            return m.transform(decoder(m.inputShape()).transform(raw).drop("content"));
        }
        return model.transform(raw);
    }

    private static CnnClassifierModel networkOf(Transformer model) {
        if (model instanceof CnnClassifierModel m) {
            return m;
        }
        if (model instanceof PipelineModel pm && pm.stages().length > 0
                && pm.stages()[pm.stages().length - 1] instanceof CnnClassifierModel m) {
            return m;
        }
        throw new IllegalArgumentException("expected a CnnClassifierModel or a PipelineModel ending with one, but got "
                + model.getClass().getName());
    }

    /** Accuracy over all holdout images; classes the model never saw count as errors. */
    static double accuracy(ClassificationMetrics m) {
        long all = m.total() + m.unknown();
        return all == 0 ? Double.NaN : m.accuracy() * m.total() / all;
    }

    private String decision(ClassificationMetrics cm, double challenger, double champion, boolean atChance,
                            boolean promote) {
        if (atChance) {
            return String.format(java.util.Locale.ROOT, "at chance level (accuracy %.4f, guessing %.4f): never "
                    + "promoted", cm.accuracy(), cm.chanceAccuracy());
        }
        if (Double.isNaN(champion)) {
            return "the first model: promoted";
        }
        return String.format(java.util.Locale.ROOT, "improvement %+.4f over the champion's %.4f %s minImprovement "
                + "%.4f", challenger - champion, champion, promote ? ">=" : "<", policy.minImprovement());
    }

    /** The policy and every param of the classifier that trained the challenger. */
    private Map<String, Object> params(CnnClassifier cnn) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("minImprovement", policy.minImprovement());
        m.put("replayFraction", policy.replayFraction());
        m.put("frozenLayers", policy.frozenLayers());
        m.put("seed", policy.seed());
        Map<String, Object> c = new LinkedHashMap<>();
        for (Param<?> p : cnn.params()) {
            if (cnn.isDefined(p)) {
                Object v = cnn.getOrDefault(p);
                c.put(p.name(), v instanceof Number || v instanceof Boolean ? v : String.valueOf(v));
            }
        }
        m.put("classifier", c);
        return m;
    }

    private static List<Map<String, Object>> history(List<EpochStats> h) {
        return h.stream().map(EpochStatsCodec::toMap).toList();
    }

    private static void report(VersionMetrics v, CnnClassifierModel net, ClassificationMetrics cm,
                               Dataset<Row> predictions, String dir, Configuration hc) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("version", v.version());
        facts.put("template", v.template());
        facts.put("parent (champion at start)", v.parentVersion() == null ? "none (trained from scratch)"
                : v.parentVersion());
        facts.put("new partitions", String.join(", ", v.partitions()));
        facts.put("replayed partitions (fraction " + v.params().get("replayFraction") + ")",
                String.join(", ", v.replayedPartitions()));
        facts.put("holdout accuracy (challenger)", v.holdoutAccuracy());
        facts.put("holdout accuracy (champion)", v.championHoldoutAccuracy() == null ? "n/a"
                : v.championHoldoutAccuracy());
        facts.put("promoted", v.promoted());
        facts.put("decision", v.decision());
        facts.put("at chance level", v.atChanceLevel());
        HtmlReport r = new HtmlReport("spark-dl retrain: " + v.version()).facts("Run", facts)
                .trainingCurves(net.summary().history()).confusion(cm);
        List<String> cols = List.of(predictions.columns());
        if (cols.containsAll(List.of("image", "label", "predictedLabel", "probability"))) {
            r.gallery("Misclassified holdout images (first " + GALLERY + ")",
                    HtmlReport.misclassified(predictions, net.labels(), GALLERY));
        }
        r.write(dir, hc);
    }

    private static String projectVersion() {
        String v = Retrainer.class.getPackage().getImplementationVersion();
        return v != null ? v : "unknown (not run from a released jar)";
    }

    /** The champion as saved (a CnnClassifierModel or a PipelineModel) and the path of its network. */
    private record Champion(Transformer model, CnnClassifierModel network, String networkPath) {
        static Champion load(String dir, Configuration hc) {
            if (!HadoopFiles.exists(dir + "/stages", hc)) {
                CnnClassifierModel m = CnnClassifierModel.load(dir);
                return new Champion(m, m, dir);
            }
            PipelineModel pm = PipelineModel.load(dir);
            CnnClassifierModel net = networkOf(pm);
            String suffix = "_" + net.uid();
            String stage = HadoopFiles.list(dir + "/stages", hc).stream().filter(n -> n.endsWith(suffix)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("champion " + dir + ": no folder for its stage "
                            + net.uid() + " under stages/"));
            return new Champion(pm, net, dir + "/stages/" + stage);
        }
    }
}
