package io.sparkdl.ensemble;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains {@code numMembers} CnnClassifiers that differ by seed (and optionally by architecture, cycling
 * through {@code archs}, and by bootstrap sample) and combines them: {@code mean} averages their
 * probabilities, {@code vote} takes the majority prediction, {@code weighted} averages with weights fitted
 * on a validation split (the weights that minimise the validation log-loss of the mixture). Every member's
 * validation accuracy is measured and kept in the model. {@link EnsembleClassifierModel#of} wraps models
 * already trained instead.
 */
public class EnsembleClassifier extends Estimator<EnsembleClassifierModel> implements MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(EnsembleClassifier.class);

    private final String uid;
    final IntParam numMembers;
    final StringArrayParam archs;
    final BooleanParam bootstrap;
    final Param<String> combination;
    final DoubleParam validationFraction;
    final LongParam seed;
    final IntParam epochs;
    final IntParam batchSize;
    final Param<String> updater;
    final DoubleParam learningRate;
    final IntParam numWorkers;
    final Param<String> featuresCol;
    final Param<String> labelCol;
    final Param<String> probabilityCol;
    final Param<String> predictionCol;
    final Param<String> predictedLabelCol;

    public EnsembleClassifier() {
        this(Identifiable$.MODULE$.randomUID("ensemble"));
    }

    public EnsembleClassifier(String uid) {
        this.uid = uid;
        numMembers = new IntParam(this, "numMembers", "Number of CNNs (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        archs = new StringArrayParam(this, "archs",
                "Member architectures (built-in names or JSON specs), used in turn (>= 1).",
                SharedParams.<String[]>validator(v -> v.length >= 1));
        bootstrap = new BooleanParam(this, "bootstrap", "Train each member on a bootstrap sample of the data.");
        combination = SharedParams.choice(this, "combination", "How members are combined.", "mean", "vote", "weighted");
        validationFraction = new DoubleParam(this, "validationFraction",
                "Share of the data held out to measure members and fit weights, in [0, 1); weighted needs > 0.",
                SharedParams.<Object>validator(v -> (Double) v >= 0 && (Double) v < 1));
        seed = new LongParam(this, "seed", "Base seed; member i uses seed + i.");
        epochs = new IntParam(this, "epochs", "Epochs per member (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        batchSize = new IntParam(this, "batchSize", "Minibatch size per worker (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        updater = SharedParams.choice(this, "updater", "Optimiser.", "sgd", "momentum", "nesterov", "adam");
        learningRate = new DoubleParam(this, "learningRate", "Learning rate (> 0).",
                SharedParams.<Object>validator(v -> (Double) v > 0));
        numWorkers = new IntParam(this, "numWorkers", "Data-parallel workers per member; 0 = default parallelism.",
                SharedParams.<Object>validator(v -> (Integer) v >= 0));
        featuresCol = SharedParams.column(this, "featuresCol", "Image struct column.");
        labelCol = SharedParams.column(this, "labelCol", "Label column (names or indices).");
        probabilityCol = SharedParams.column(this, "probabilityCol", "Combined probability vector column.");
        predictionCol = SharedParams.column(this, "predictionCol", "Combined class index column.");
        predictedLabelCol = SharedParams.column(this, "predictedLabelCol", "Combined class name column.");
        setDefault(numMembers, 5);
        setDefault(archs, new String[]{"lenet"});
        setDefault(bootstrap, false);
        setDefault(combination, "mean");
        setDefault(validationFraction, 0.1);
        setDefault(seed, 42L);
        setDefault(epochs, 3);
        setDefault(batchSize, 64);
        setDefault(updater, "adam");
        setDefault(learningRate, 1e-3);
        setDefault(numWorkers, 0);
        setDefault(featuresCol, "image");
        setDefault(labelCol, "label");
        setDefault(probabilityCol, "probability");
        setDefault(predictionCol, "prediction");
        setDefault(predictedLabelCol, "predictedLabel");
    }

    @Override
    public String uid() {
        return uid;
    }

    public IntParam numMembers() { return numMembers; }
    public StringArrayParam archs() { return archs; }
    public BooleanParam bootstrap() { return bootstrap; }
    public Param<String> combination() { return combination; }
    public DoubleParam validationFraction() { return validationFraction; }
    public LongParam seed() { return seed; }
    public IntParam epochs() { return epochs; }
    public IntParam batchSize() { return batchSize; }
    public Param<String> updater() { return updater; }
    public DoubleParam learningRate() { return learningRate; }
    public IntParam numWorkers() { return numWorkers; }
    public Param<String> featuresCol() { return featuresCol; }
    public Param<String> labelCol() { return labelCol; }
    public Param<String> probabilityCol() { return probabilityCol; }
    public Param<String> predictionCol() { return predictionCol; }
    public Param<String> predictedLabelCol() { return predictedLabelCol; }

    public int getNumMembers() { return (Integer) $(numMembers); }
    public String[] getArchs() { return $(archs); }
    public boolean getBootstrap() { return (Boolean) $(bootstrap); }
    public String getCombination() { return $(combination); }
    public double getValidationFraction() { return (Double) $(validationFraction); }
    public long getSeed() { return (Long) $(seed); }
    public int getEpochs() { return (Integer) $(epochs); }
    public int getBatchSize() { return (Integer) $(batchSize); }
    public String getUpdater() { return $(updater); }
    public double getLearningRate() { return (Double) $(learningRate); }
    public int getNumWorkers() { return (Integer) $(numWorkers); }
    public String getFeaturesCol() { return $(featuresCol); }
    public String getLabelCol() { return $(labelCol); }

    public EnsembleClassifier setNumMembers(int v) { set(numMembers, v); return this; }
    public EnsembleClassifier setArchs(String... v) { set(archs, v); return this; }
    public EnsembleClassifier setBootstrap(boolean v) { set(bootstrap, v); return this; }
    public EnsembleClassifier setCombination(String v) { set(combination, v); return this; }
    public EnsembleClassifier setValidationFraction(double v) { set(validationFraction, v); return this; }
    public EnsembleClassifier setSeed(long v) { set(seed, v); return this; }
    public EnsembleClassifier setEpochs(int v) { set(epochs, v); return this; }
    public EnsembleClassifier setBatchSize(int v) { set(batchSize, v); return this; }
    public EnsembleClassifier setUpdater(String v) { set(updater, v); return this; }
    public EnsembleClassifier setLearningRate(double v) { set(learningRate, v); return this; }
    public EnsembleClassifier setNumWorkers(int v) { set(numWorkers, v); return this; }
    public EnsembleClassifier setFeaturesCol(String v) { set(featuresCol, v); return this; }
    public EnsembleClassifier setLabelCol(String v) { set(labelCol, v); return this; }
    public EnsembleClassifier setProbabilityCol(String v) { set(probabilityCol, v); return this; }
    public EnsembleClassifier setPredictionCol(String v) { set(predictionCol, v); return this; }
    public EnsembleClassifier setPredictedLabelCol(String v) { set(predictedLabelCol, v); return this; }

    @Override
    public StructType transformSchema(StructType schema) {
        SharedParams.requireColumn(schema, getLabelCol(), "Label");
        if (getCombination().equals("weighted") && getValidationFraction() <= 0) {
            throw new IllegalArgumentException("combination weighted fits weights on a validation split: set "
                    + "validationFraction > 0");
        }
        return EnsembleClassifierModel.outputSchema(schema, this);
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
                String arch = getArchs()[i % getArchs().length];
                CnnClassifier cnn = new CnnClassifier().setArch(arch).setSeed(getSeed() + i).setEpochs(getEpochs())
                        .setBatchSize(getBatchSize()).setUpdater(getUpdater()).setLearningRate(getLearningRate())
                        .setNumWorkers(getNumWorkers()).setFeaturesCol(getFeaturesCol()).setLabelCol(getLabelCol());
                Dataset<Row> data = getBootstrap() ? train.sample(true, 1.0, getSeed() + 7919L * (i + 1)) : train;
                LOG.info("EnsembleClassifier {}: training member {}/{} (seed {}{})", uid, i + 1, k, getSeed() + i,
                        getBootstrap() ? ", bootstrap sample" : "");
                members[i] = cnn.fit(data);
                if (i > 0 && !java.util.Arrays.equals(members[i].labels(), members[0].labels())) {
                    throw new IllegalStateException("member " + (i + 1) + " saw classes "
                            + java.util.Arrays.toString(members[i].labels()) + " but member 1 saw "
                            + java.util.Arrays.toString(members[0].labels())
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

    @Override
    public EnsembleClassifier copy(ParamMap extra) {
        return (EnsembleClassifier) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<EnsembleClassifier> read() {
        return SparkMLInternals.paramsReader();
    }

    public static EnsembleClassifier load(String path) {
        return read().load(path);
    }
}
