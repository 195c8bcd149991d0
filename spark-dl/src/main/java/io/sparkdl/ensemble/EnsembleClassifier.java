package io.sparkdl.ensemble;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.image.ImageAugmenter;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.image.ImageNormalizerModel;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasLabelCol;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.HasValidationFraction;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Trains {@code numMembers} copies of a base {@code estimator} that differ by seed (member i: {@code seed + i};
 * optionally by architecture, cycling through {@code archs}, and by bootstrap sample) and combines them:
 * {@code mean} averages their probabilities, {@code vote} takes the majority prediction, {@code weighted} averages
 * with weights fitted on a validation split (the weights that minimise the validation log-loss of the mixture).
 *
 * <p>The base estimator is a {@link CnnClassifier}, or a {@link Pipeline} of {@link ImageNormalizer} /
 * {@link ImageAugmenter} stages ending in one (fitted afresh per member); as MLlib's {@code OneVsRest} copies
 * its {@code classifier}, every member is a copy of it with only {@code seed} (and {@code arch} when
 * {@code archs} is set, and the ensemble's {@code featuresCol}/{@code labelCol}) replaced, so every training
 * option of the base applies to every member. Every member's validation accuracy is measured and kept in the
 * model. {@link EnsembleClassifierModel#of} wraps models already trained instead.
 */
public class EnsembleClassifier extends Estimator<EnsembleClassifierModel> implements
        EnsembleClassifierParams<EnsembleClassifier>, HasLabelCol<EnsembleClassifier>, HasSeed<EnsembleClassifier>,
        HasValidationFraction<EnsembleClassifier>, MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(EnsembleClassifier.class);
    /** Params of releases before the base estimator, now the base CnnClassifier's: read into it on load. */
    private static final Set<String> BASE_PARAMS_OF_OLD_RELEASES =
            Set.of("epochs", "batchSize", "updater", "learningRate", "numWorkers");

    private final String uid;
    private final DeclaredParams declared;
    private final Param<PipelineStage> estimator;
    private final IntParam numMembers;
    private final StringArrayParam archs;
    private final BooleanParam bootstrap;

    public EnsembleClassifier() {
        this(Identifiable$.MODULE$.randomUID("ensemble"));
    }

    public EnsembleClassifier(String uid) {
        this.uid = uid;
        declared = EnsembleClassifierParams.declare(this);
        HasLabelCol.declare(declared, "Label column (names or indices).", "label");
        HasSeed.declare(declared, "Base seed: member i trains with seed + i; also seeds the validation split and the "
                + "bootstrap samples.");
        HasValidationFraction.declare(declared, "Share of the data held out to measure the members and fit the "
                + "weights (combination weighted needs > 0).");
        estimator = new Param<>(this, "estimator", "The estimator every member is a copy of: a CnnClassifier, or a "
                + "Pipeline of ImageNormalizer/ImageAugmenter stages ending in one. Unset: a CnnClassifier with its "
                + "defaults.", SharedParams.<PipelineStage>validator(s -> baseProblem(s) == null));
        numMembers = new IntParam(this, "numMembers", "Number of members (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        archs = new StringArrayParam(this, "archs", "Member architectures (built-in names or JSON specs), used in "
                + "turn instead of the base's arch; empty: every member has the base's arch.");
        bootstrap = new BooleanParam(this, "bootstrap", "Train each member on a bootstrap sample of the data.");
        setDefault(numMembers, 5);
        setDefault(archs, new String[0]);
        setDefault(bootstrap, false);
    }

    /** Why {@code s} cannot be a base estimator, or null when it can. */
    static String baseProblem(PipelineStage s) {
        if (s instanceof CnnClassifier) {
            return null;
        }
        if (!(s instanceof Pipeline p)) {
            return "estimator must be a CnnClassifier or a Pipeline ending in one, but was "
                    + (s == null ? "null" : s.getClass().getName());
        }
        PipelineStage[] stages = p.getStages();
        if (stages.length == 0 || !(stages[stages.length - 1] instanceof CnnClassifier)) {
            return "estimator: the Pipeline must end in a CnnClassifier";
        }
        for (int i = 0; i < stages.length - 1; i++) {
            // these only annotate the image column, which the CnnClassifierModel then carries (so a member can be
            // its last stage alone)
            if (!(stages[i] instanceof ImageNormalizer || stages[i] instanceof ImageNormalizerModel
                    || stages[i] instanceof ImageAugmenter)) {
                return "estimator: stage " + (i + 1) + " of the Pipeline is a " + stages[i].getClass().getSimpleName()
                        + "; before the CnnClassifier only ImageNormalizer and ImageAugmenter stages may stand";
            }
        }
        return null;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public Param<PipelineStage> estimator() { return estimator; }
    public IntParam numMembers() { return numMembers; }
    public StringArrayParam archs() { return archs; }
    public BooleanParam bootstrap() { return bootstrap; }

    /** The base estimator; unset: a new CnnClassifier with its defaults. */
    public PipelineStage getEstimator() { return isDefined(estimator) ? $(estimator) : new CnnClassifier(); }
    public int getNumMembers() { return (Integer) $(numMembers); }
    public String[] getArchs() { return $(archs); }
    public boolean getBootstrap() { return (Boolean) $(bootstrap); }

    /** Sets the base estimator (a CnnClassifier or a Pipeline ending in one); fails naming what is wrong. */
    public EnsembleClassifier setEstimator(PipelineStage v) {
        String problem = baseProblem(v);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        set(estimator, v);
        return this;
    }
    public EnsembleClassifier setNumMembers(int v) { set(numMembers, v); return this; }
    public EnsembleClassifier setArchs(String... v) { set(archs, v); return this; }
    public EnsembleClassifier setBootstrap(boolean v) { set(bootstrap, v); return this; }

    /** @deprecated set it on the base estimator ({@link #setEstimator}); this sets it on a copy of the base. */
    @Deprecated public EnsembleClassifier setEpochs(int v) { return withBase(c -> c.setEpochs(v)); }
    /** @deprecated set it on the base estimator ({@link #setEstimator}); this sets it on a copy of the base. */
    @Deprecated public EnsembleClassifier setBatchSize(int v) { return withBase(c -> c.setBatchSize(v)); }
    /** @deprecated set it on the base estimator ({@link #setEstimator}); this sets it on a copy of the base. */
    @Deprecated public EnsembleClassifier setUpdater(String v) { return withBase(c -> c.setUpdater(v)); }
    /** @deprecated set it on the base estimator ({@link #setEstimator}); this sets it on a copy of the base. */
    @Deprecated public EnsembleClassifier setLearningRate(double v) { return withBase(c -> c.setLearningRate(v)); }
    /** @deprecated set it on the base estimator ({@link #setEstimator}); this sets it on a copy of the base. */
    @Deprecated public EnsembleClassifier setNumWorkers(int v) { return withBase(c -> c.setNumWorkers(v)); }

    private EnsembleClassifier withBase(Consumer<CnnClassifier> change) {
        PipelineStage base = getEstimator().copy(ParamMap.empty());
        change.accept(classifierOf(base));
        return setEstimator(base);
    }

    /** The CnnClassifier of a base estimator: itself, or a Pipeline's last stage. */
    static CnnClassifier classifierOf(PipelineStage base) {
        if (base instanceof Pipeline p) {
            return (CnnClassifier) p.getStages()[p.getStages().length - 1];
        }
        return (CnnClassifier) base;
    }

    /** Member {@code i}'s estimator: a copy of the base with the member's seed (and arch, when archs is set). */
    public PipelineStage memberEstimator(int i) {
        PipelineStage member = getEstimator().copy(ParamMap.empty());
        CnnClassifier cnn = classifierOf(member);
        cnn.setSeed(getSeed() + i).setFeaturesCol(getFeaturesCol()).setLabelCol(getLabelCol());
        if (getArchs().length > 0) {
            cnn.setArch(getArchs()[i % getArchs().length]);
        }
        return member;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        SharedParams.requireColumn(schema, getLabelCol(), "Label");
        if (getCombination().equals("weighted") && getValidationFraction() <= 0) {
            throw new IllegalArgumentException("combination weighted fits weights on a validation split: set "
                    + "validationFraction > 0");
        }
        // the members' own checks (columns, early stopping needs a validation set, ...) before any training
        memberEstimator(0).transformSchema(schema);
        return validateAndTransformSchema(schema);
    }

    @Override
    public EnsembleClassifierModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<Row> all = dataset.toDF().persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> train = all;
        Dataset<Row> val = null;
        if (getValidationFraction() > 0) {
            org.apache.spark.sql.Column isVal = io.sparkdl.train.ValidationSplit.isValidation(all.schema(),
                    getFeaturesCol(), getLabelCol(), getValidationFraction(), getSeed());
            train = all.where(org.apache.spark.sql.functions.not(isVal));
            val = all.where(isVal);
        }
        try {
            int k = getNumMembers();
            CnnClassifierModel[] members = new CnnClassifierModel[k];
            for (int i = 0; i < k; i++) {
                Dataset<Row> data = getBootstrap() ? train.sample(true, 1.0, getSeed() + 7919L * (i + 1)) : train;
                LOG.info("EnsembleClassifier {}: training member {}/{} (seed {}{})", uid, i + 1, k, getSeed() + i,
                        getBootstrap() ? ", bootstrap sample" : "");
                members[i] = fitMember(memberEstimator(i), data);
                if (i > 0 && !Arrays.equals(members[i].labels(), members[0].labels())) {
                    throw new IllegalStateException("member " + (i + 1) + " saw classes "
                            + Arrays.toString(members[i].labels()) + " but member 1 saw "
                            + Arrays.toString(members[0].labels())
                            + " (a bootstrap sample missed a rare class; use more data or bootstrap=false)");
                }
            }
            EnsembleClassifierModel model = EnsembleClassifierModel.of(uid, members, getCombination(), null);
            copyValues(model, ParamMap.empty());
            if (val != null) {
                model = model.withValidation(val, getLabelCol(), getCombination().equals("weighted"));
            }
            return (EnsembleClassifierModel) model.setParent(this);
        } finally {
            all.unpersist();
        }
    }

    /** Fits one member; of a Pipeline, the CnnClassifierModel (which carries the normalisation it was fitted on). */
    private static CnnClassifierModel fitMember(PipelineStage member, Dataset<Row> data) {
        if (member instanceof Pipeline p) {
            Transformer[] stages = ((PipelineModel) p.fit(data)).stages();
            return (CnnClassifierModel) stages[stages.length - 1];
        }
        return ((CnnClassifier) member).fit(data);
    }

    @Override
    public EnsembleClassifier copy(ParamMap extra) {
        EnsembleClassifier c = (EnsembleClassifier) defaultCopy(extra);
        if (c.isSet(c.estimator)) {
            c.set(c.estimator, c.$(c.estimator).copy(extra));
        }
        return c;
    }

    // ---- persistence: metadata/ (params but the estimator) and estimator/ (the base, a stage of its own)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                EnsembleClassifier params = (EnsembleClassifier) defaultCopy(ParamMap.empty());
                params.clear(params.estimator);
                SparkMLInternals.saveMetadata(params, path, spark.sparkContext());
                if (isSet(estimator)) {
                    try {
                        ((MLWritable) $(estimator)).write().save(path + "/estimator");
                    } catch (IOException e) {
                        throw new UncheckedIOException("Cannot save the base estimator to " + path + "/estimator", e);
                    }
                }
            }
        };
    }

    public static MLReader<EnsembleClassifier> read() {
        return new MLReader<>() {
            @Override
            public EnsembleClassifier load(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                        EnsembleClassifier.class, Map.of(), BASE_PARAMS_OF_OLD_RELEASES);
                EnsembleClassifier e = new EnsembleClassifier(meta.uid());
                meta.applyParams(e);
                if (HadoopFiles.exists(path + "/estimator", spark.sparkContext().hadoopConfiguration())) {
                    e.setEstimator(SparkMLInternals.loadStage(path + "/estimator", spark.sparkContext()));
                } else if (!meta.removedParams().isEmpty()) {
                    CnnClassifier base = new CnnClassifier();
                    meta.removedParams().forEach((name, json) -> {
                        Param<Object> p = base.getParam(name);
                        base.set(p, p.jsonDecode(json));
                    });
                    e.setEstimator(base);
                }
                return e;
            }
        };
    }

    public static EnsembleClassifier load(String path) {
        return read().load(path);
    }
}
