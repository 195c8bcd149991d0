package io.sparkdl.classification;

import io.sparkdl.engine.EngineSpec;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageMetadata;
import io.sparkdl.image.Normalization;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.nn.LearningRateSchedule;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasChannels;
import io.sparkdl.param.HasHeight;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.HasValidationFraction;
import io.sparkdl.param.HasWidth;
import io.sparkdl.param.SharedParams;
import io.sparkdl.train.CheckpointStore;
import io.sparkdl.train.EpochDriver;
import io.sparkdl.train.EpochStats;
import io.sparkdl.train.ImageBlock;
import io.sparkdl.train.ImageBlocks;
import io.sparkdl.train.ParameterAveraging;
import io.sparkdl.train.TrainingConfig;
import io.sparkdl.train.TrainingData;
import io.sparkdl.train.TrainingListener;
import io.sparkdl.train.TrainingResult;
import io.sparkdl.train.TrainingState;
import io.sparkdl.train.WorkerPlan;
import io.sparkdl.train.TrainingStrategy;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Trains a CNN image classifier by data-parallel parameter averaging across executors.
 *
 * <p>Input: an image struct column ({@link io.sparkdl.image.ImageDecoder} output or Spark's image
 * source) and a label column of strings (class names) or non-negative integers (class indices).
 * Images whose size or channel count differs from the network input are converted once, when the
 * training blocks are built. Rows with a null image or label (undecodable files) are skipped and
 * counted in the log.
 */
public class CnnClassifier extends Estimator<CnnClassifierModel> implements CnnClassifierParams<CnnClassifier>,
        HasSeed<CnnClassifier>, HasHeight<CnnClassifier>, HasWidth<CnnClassifier>, HasChannels<CnnClassifier>,
        HasValidationFraction<CnnClassifier>, MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(CnnClassifier.class);

    private final String uid;
    private final DeclaredParams declared;
    private final Param<String> arch;
    private final IntParam epochs;
    private final IntParam batchSize;
    private final Param<String> updater;
    private final Param<String> precision;
    private final DoubleParam learningRate;
    private final DoubleParam momentum;
    private final DoubleParam l2;
    private final IntParam numWorkers;
    private final IntParam averagingFrequency;
    private final DoubleParam blockMomentum;
    private final IntParam trainAccuracySample;
    private final Param<String> validationIndicatorCol;
    private final Param<String> initialModel;
    private final IntParam frozenLayers;
    private final Param<String> checkpointDir;
    private final Param<String> lrSchedule;
    private final DoubleParam weightDecay;
    private final IntParam earlyStoppingPatience;
    private final Param<String> augmentation;
    private final Param<String> initialClasses;
    /** Larger learning rates are typos (1e308 trained a constant predictor); a diverging run is reported anyway. */
    public static final double MAX_LEARNING_RATE = 1e4;
    /** Run by fit once the training blocks are cached (see {@link #whenBlocksCached}); null: none. */
    private transient Runnable blocksCached;

    public CnnClassifier() {
        this(Identifiable$.MODULE$.randomUID("cnn"));
    }

    public CnnClassifier(String uid) {
        this.uid = uid;
        declared = CnnClassifierParams.declare(this);
        HasSeed.declare(declared, "Random seed for weights, shuffling and the validation split.");
        HasHeight.declare(declared, "Network input height; 0 takes it from the arch, else the data.");
        HasWidth.declare(declared, "Network input width; 0 takes it from the arch, else the data.");
        HasChannels.declare(declared, "Network input channels; 0 takes them from the arch, else the data.");
        HasValidationFraction.declare(declared, "Share of the data held out to report validation accuracy each "
                + "epoch (and for early stopping).");
        arch = new Param<>(this, "arch", "Network: a built-in name (" + String.join(", ", NetworkSpec.builtIns())
                + ") or a JSON layer spec.", SharedParams.<String>validator(CnnClassifier::validArch));
        epochs = new IntParam(this, "epochs", "Passes over the training data (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        batchSize = new IntParam(this, "batchSize", "Minibatch size per worker (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        updater = SharedParams.choice(this, "updater", "Optimiser.", "sgd", "momentum", "nesterov", "adam");
        precision = SharedParams.choice(this, "precision", "Arithmetic of training: fp32, or bf16 (engine torch "
                + "only, on CPUs with native bf16 - avx512_bf16 or amx_bf16 - else a warning and fp32): convolutions "
                + "and dense layers compute in bfloat16 on fp32 master weights; batch norm, softmax, loss and "
                + "updater stay fp32.", "fp32", "bf16");
        setDefault(precision, "fp32");
        learningRate = new DoubleParam(this, "learningRate", "Learning rate, in (0, " + MAX_LEARNING_RATE + "].",
                SharedParams.<Object>validator(v -> (Double) v > 0 && (Double) v <= MAX_LEARNING_RATE));
        momentum = new DoubleParam(this, "momentum", "Momentum for updater momentum or nesterov, in [0, 1).",
                SharedParams.<Object>validator(v -> (Double) v >= 0 && (Double) v < 1));
        l2 = new DoubleParam(this, "l2", "L2 regularisation coefficient (>= 0).",
                SharedParams.<Object>validator(v -> (Double) v >= 0));
        numWorkers = new IntParam(this, "numWorkers",
                "Data-parallel workers (partitions trained side by side); 0 uses the cluster's default parallelism.",
                SharedParams.<Object>validator(v -> (Integer) v >= 0));
        averagingFrequency = new IntParam(this, "averagingFrequency",
                "Minibatches each worker fits between two parameter averagings (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        blockMomentum = new DoubleParam(this, "blockMomentum",
                "Momentum the driver applies to each round's averaged update (block-wise model update filtering), "
                        + "in [0, 1); -1 picks 1 - 1/workers, which keeps per-epoch progress as workers are added; "
                        + "0 is plain parameter averaging.",
                SharedParams.<Object>validator(v -> (Double) v == -1 || ((Double) v >= 0 && (Double) v < 1)));
        trainAccuracySample = new IntParam(this, "trainAccuracySample",
                "Training images used to measure train accuracy after each epoch (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        validationIndicatorCol = new Param<>(this, "validationIndicatorCol",
                "Optional boolean column: true marks validation rows (instead of a random validationFraction).");
        initialModel = new Param<>(this, "initialModel", "Path of a saved CnnClassifierModel to start from "
                + "(warm start, fine-tuning); its architecture and input size are used, and classes new in the data "
                + "widen its output layer. Empty: fresh weights.");
        frozenLayers = new IntParam(this, "frozenLayers",
                "Keep the first N layers' weights fixed (transfer learning; needs initialModel), >= 0.",
                SharedParams.<Object>validator(v -> (Integer) v >= 0));
        checkpointDir = new Param<>(this, "checkpointDir", "Folder (local or Hadoop URI) for a checkpoint after every "
                + "epoch; a fit that finds a checkpoint of the same training there resumes after its last epoch. "
                + "Empty: no checkpoints.");
        lrSchedule = new Param<>(this, "lrSchedule", "Learning-rate schedule by epoch: constant, step:EVERY:FACTOR, "
                + "exp:GAMMA or cosine[:MIN_FRACTION].", SharedParams.<String>validator(v -> {
                    try {
                        LearningRateSchedule.validate(v);
                        return true;
                    } catch (IllegalArgumentException e) {
                        return false;
                    }
                }));
        weightDecay = new DoubleParam(this, "weightDecay",
                "Decoupled weight decay coefficient (>= 0; applied with the learning rate to every weight).",
                SharedParams.<Object>validator(v -> (Double) v >= 0));
        earlyStoppingPatience = new IntParam(this, "earlyStoppingPatience",
                "Stop after this many epochs without a better validation accuracy and keep the best epoch's "
                        + "weights (needs a validation set, >= 0); 0: train every epoch and keep the last weights.",
                SharedParams.<Object>validator(v -> (Integer) v >= 0));
        augmentation = new Param<>(this, "augmentation", "Augmentation applied to training images while fitting, "
                + "fresh each epoch and reproducible per seed, as ImageAugmenter writes it "
                + "(rotate=10,translate=0.1,flip=horizontal,...). Empty: the features column's ImageAugmenter "
                + "metadata, if any, else none.",
                SharedParams.<String>validator(v -> {
                    try {
                        io.sparkdl.image.Augmentation.parse(v);
                        return true;
                    } catch (IllegalArgumentException e) {
                        return false;
                    }
                }));
        initialClasses = SharedParams.choice(this, "initialClasses", "With initialModel: 'keep' gives the model "
                + "the initial model's classes plus any new ones in the data (retraining: a model never forgets a "
                + "class); 'replace' gives it the data's classes only (transfer learning to a new label set: a new "
                + "output layer, with the initial model's weights for classes it shares with the data).",
                "keep", "replace");
        setDefault(initialClasses, "keep");
        setDefault(lrSchedule, "constant");
        setDefault(weightDecay, 0.0);
        setDefault(earlyStoppingPatience, 0);
        setDefault(augmentation, "");
        setDefault(initialModel, "");
        setDefault(frozenLayers, 0);
        setDefault(checkpointDir, "");
        setDefault(arch, "lenet");
        setDefault(epochs, 3);
        setDefault(batchSize, 64);
        setDefault(updater, "adam");
        setDefault(learningRate, 1e-3);
        setDefault(momentum, 0.9);
        setDefault(l2, 0.0);
        setDefault(numWorkers, 0);
        setDefault(averagingFrequency, 5);
        setDefault(blockMomentum, -1.0);
        setDefault(trainAccuracySample, 10_000);
    }

    private static boolean validArch(String a) {
        try {
            NetworkSpec.parse(a);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public Param<String> arch() { return arch; }
    public IntParam epochs() { return epochs; }
    public IntParam batchSize() { return batchSize; }
    public Param<String> updater() { return updater; }
    public DoubleParam learningRate() { return learningRate; }
    public DoubleParam momentum() { return momentum; }
    public DoubleParam l2() { return l2; }
    public IntParam numWorkers() { return numWorkers; }
    public IntParam averagingFrequency() { return averagingFrequency; }
    public DoubleParam blockMomentum() { return blockMomentum; }
    public IntParam trainAccuracySample() { return trainAccuracySample; }
    public Param<String> validationIndicatorCol() { return validationIndicatorCol; }

    public String getArch() { return $(arch); }

    /** @deprecated renamed {@code height}, as in ImageDecoder; use {@link #getHeight()}. */
    @Deprecated public int getImageHeight() { return getHeight(); }
    /** @deprecated renamed {@code width}; use {@link #getWidth()}. */
    @Deprecated public int getImageWidth() { return getWidth(); }
    /** @deprecated renamed {@code channels}; use {@link #getChannels()}. */
    @Deprecated public int getImageChannels() { return getChannels(); }
    /** @deprecated renamed {@code height}; use {@link #setHeight(int)}. */
    @Deprecated public CnnClassifier setImageHeight(int v) { return setHeight(v); }
    /** @deprecated renamed {@code width}; use {@link #setWidth(int)}. */
    @Deprecated public CnnClassifier setImageWidth(int v) { return setWidth(v); }
    /** @deprecated renamed {@code channels}; use {@link #setChannels(int)}. */
    @Deprecated public CnnClassifier setImageChannels(int v) { return setChannels(v); }
    public int getEpochs() { return (Integer) $(epochs); }
    public int getBatchSize() { return (Integer) $(batchSize); }
    public String getUpdater() { return $(updater); }
    public double getLearningRate() { return (Double) $(learningRate); }
    public double getMomentum() { return (Double) $(momentum); }
    public double getL2() { return (Double) $(l2); }
    public int getNumWorkers() { return (Integer) $(numWorkers); }
    public int getAveragingFrequency() { return (Integer) $(averagingFrequency); }
    public String getInitialModel() { return $(initialModel); }
    public int getFrozenLayers() { return (Integer) $(frozenLayers); }
    public String getCheckpointDir() { return $(checkpointDir); }
    public Param<String> initialModel() { return initialModel; }
    public IntParam frozenLayers() { return frozenLayers; }
    public Param<String> checkpointDir() { return checkpointDir; }
    public CnnClassifier setInitialModel(String v) { set(initialModel, v); return this; }
    public CnnClassifier setFrozenLayers(int v) { set(frozenLayers, v); return this; }
    public CnnClassifier setCheckpointDir(String v) { set(checkpointDir, v); return this; }

    /**
     * Code that {@link #fit} runs on the driver once it has cached the training (and validation) blocks, before
     * the first epoch: from then on fit reads only its blocks, never the input rows again, so a caller that
     * cached the input (say, decoded images it also counted) can unpersist it here and keep one cached copy of
     * the data during training rather than two. Not a param: it is not copied with the estimator nor saved;
     * null removes it.
     */
    public CnnClassifier whenBlocksCached(Runnable action) {
        this.blocksCached = action;
        return this;
    }
    public double getBlockMomentum() { return (Double) $(blockMomentum); }
    public int getTrainAccuracySample() { return (Integer) $(trainAccuracySample); }
    public String getValidationIndicatorCol() { return $(validationIndicatorCol); }

    public CnnClassifier setArch(String v) { set(arch, v); return this; }
    public CnnClassifier setEpochs(int v) { set(epochs, v); return this; }
    public CnnClassifier setBatchSize(int v) { set(batchSize, v); return this; }
    public CnnClassifier setUpdater(String v) { set(updater, v); return this; }
    public Param<String> precision() { return precision; }
    public String getPrecision() { return $(precision); }
    public CnnClassifier setPrecision(String v) { set(precision, v); return this; }
    public CnnClassifier setLearningRate(double v) { set(learningRate, v); return this; }
    public CnnClassifier setMomentum(double v) { set(momentum, v); return this; }
    public CnnClassifier setL2(double v) { set(l2, v); return this; }
    public CnnClassifier setNumWorkers(int v) { set(numWorkers, v); return this; }
    public CnnClassifier setAveragingFrequency(int v) { set(averagingFrequency, v); return this; }
    public CnnClassifier setBlockMomentum(double v) { set(blockMomentum, v); return this; }
    public CnnClassifier setTrainAccuracySample(int v) { set(trainAccuracySample, v); return this; }
    public CnnClassifier setValidationIndicatorCol(String v) { set(validationIndicatorCol, v); return this; }
    public Param<String> initialClasses() { return initialClasses; }
    public String getInitialClasses() { return $(initialClasses); }
    public CnnClassifier setInitialClasses(String v) { set(initialClasses, v); return this; }
    public Param<String> lrSchedule() { return lrSchedule; }
    public DoubleParam weightDecay() { return weightDecay; }
    public IntParam earlyStoppingPatience() { return earlyStoppingPatience; }
    public Param<String> augmentation() { return augmentation; }
    public String getLrSchedule() { return $(lrSchedule); }
    public double getWeightDecay() { return (Double) $(weightDecay); }
    public int getEarlyStoppingPatience() { return (Integer) $(earlyStoppingPatience); }
    public String getAugmentation() { return $(augmentation); }
    public CnnClassifier setLrSchedule(String v) { set(lrSchedule, v); return this; }
    public CnnClassifier setWeightDecay(double v) { set(weightDecay, v); return this; }
    public CnnClassifier setEarlyStoppingPatience(int v) { set(earlyStoppingPatience, v); return this; }
    public CnnClassifier setAugmentation(String v) { set(augmentation, v); return this; }

    @Override
    public StructType transformSchema(StructType schema) {
        StructType out = validateAndTransformSchema(schema);
        StructField l = SharedParams.requireColumn(schema, getLabelCol(), "Label");
        DataType lt = l.dataType();
        if (!(lt instanceof StringType) && !(lt instanceof NumericType)) {
            throw new IllegalArgumentException("Column " + getLabelCol()
                    + " must be of type string or numeric but was " + lt.simpleString());
        }
        if (getFrozenLayers() > 0 && getInitialModel().isEmpty()) {
            throw new IllegalArgumentException("frozenLayers = " + getFrozenLayers()
                    + " needs initialModel (the layers to freeze must come trained)");
        }
        if (getPrecision().equals("bf16") && !getEngine().equals("torch")) {
            throw new IllegalArgumentException("precision = bf16 needs engine = torch, but engine = " + getEngine()
                    + " (the nd4j engine trains in fp32 only)");
        }
        if (getL2() > 0 && getWeightDecay() > 0) {
            // DL4J's builder silently drops L2 when weight decay is set; libtorch's updater would apply both
            throw new IllegalArgumentException("l2 = " + getL2() + " and weightDecay = " + getWeightDecay()
                    + ": give one of the two (DL4J applies only weight decay when both are set, so the engines "
                    + "would train differently)");
        }
        if (isDefined(validationIndicatorCol)) {
            StructField v = SharedParams.requireColumn(schema, getValidationIndicatorCol(), "Validation indicator");
            if (!v.dataType().equals(org.apache.spark.sql.types.DataTypes.BooleanType)) {
                throw new IllegalArgumentException("Column " + getValidationIndicatorCol()
                        + " must be of type boolean but was " + v.dataType().simpleString());
            }
            if (getValidationFraction() > 0) {
                throw new IllegalArgumentException(
                        "Set either validationIndicatorCol or validationFraction, not both");
            }
        }
        if (getEarlyStoppingPatience() > 0 && !isDefined(validationIndicatorCol) && getValidationFraction() == 0) {
            throw new IllegalArgumentException("CnnClassifier: earlyStoppingPatience = " + getEarlyStoppingPatience()
                    + " needs a validation set: set validationFraction or validationIndicatorCol");
        }
        if ((getHeight() == 0) != (getWidth() == 0)) {
            throw new IllegalArgumentException("CnnClassifier: height and width must both be set or both be 0, but were "
                    + getHeight() + " and " + getWidth());
        }
        if (getHeight() > 0 && getInitialModel().isEmpty()) {
            // before any data is read: a layer that does not fit the input is named now, not after decoding
            NetworkSpec.parse(getArch()).checkInput(getHeight(), getWidth(), getChannels() > 0 ? getChannels() : 1);
        }
        return out;
    }

    @Override
    public CnnClassifierModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Nd4jBackend.init();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        Dataset<Row> data = dataset.toDF().select(col(getFeaturesCol()), col(getLabelCol()));
        Dataset<Row> withIndicator = isDefined(validationIndicatorCol)
                ? dataset.toDF().select(col(getFeaturesCol()), col(getLabelCol()), col(getValidationIndicatorCol()))
                : null;
        String[] labels = labelNames(dataset);
        NetworkSpec spec = NetworkSpec.parse(getArch());
        CnnClassifierModel initial = null;
        if (!getInitialModel().isEmpty()) {
            initial = CnnClassifierModel.load(getInitialModel());
            String[] dataLabels = labels;
            labels = getInitialClasses().equals("keep") ? WarmStart.labels(initial.labels(), dataLabels) : dataLabels;
            if (!Arrays.equals(labels, initial.labels()) && getInitialClasses().equals("replace")) {
                LOG.info("CnnClassifier {}: a new output layer for the data's classes {} (the initial model's: {})",
                        uid, Arrays.asList(labels), Arrays.asList(initial.labels()));
            }
            if (labels.length > initial.labels().length) {
                List<String> known = Arrays.asList(initial.labels());
                LOG.info("CnnClassifier {}: classes new to the initial model widen its output layer: {}", uid,
                        Arrays.stream(labels).filter(l -> !known.contains(l)).toList());
            }
        } else if (getFrozenLayers() > 0) {
            throw new IllegalArgumentException("frozenLayers = " + getFrozenLayers()
                    + " needs initialModel (the layers to freeze must come trained)");
        }
        int[] shape = initial != null ? initial.inputShape() : inputShape(spec, data);
        StructField imageField = dataset.schema().apply(getFeaturesCol());
        Normalization normalization = ImageMetadata.normalization(imageField);
        if (normalization == null && initial != null) {
            // fine-tuning sees images as the initial model was trained to
            normalization = initial.normalization();
        }
        if (normalization != null && normalization.channels() != shape[2]) {
            throw new IllegalArgumentException("Column " + getFeaturesCol() + " carries a normalisation fitted on "
                    + normalization.channels() + "-channel images, but the network takes " + shape[2]
                    + " channels; fit the ImageNormalizer with channels = " + shape[2]);
        }
        Augmentation augmentation = getAugmentation().isEmpty() ? ImageMetadata.augmentation(imageField)
                : Augmentation.parse(getAugmentation());
        if (normalization != null || !augmentation.isNone()) {
            LOG.info("CnnClassifier {}: normalisation {}, augmentation {}", uid,
                    normalization == null ? "none" : normalization, augmentation);
        }
        // the workers asked for (or the cluster's parallelism); WorkerPlan may use fewer once the data is counted
        int workers = getNumWorkers() > 0 ? getNumWorkers() : sc.defaultParallelism();
        LOG.info("CnnClassifier {}: arch {}, input {}x{}x{}, {} classes, {} epochs, batch {}, {} lr {}",
                uid, spec.name(), shape[0], shape[1], shape[2], labels.length, getEpochs(), getBatchSize(),
                getUpdater(), getLearningRate());

        NetworkSpec.Settings settings = new NetworkSpec.Settings(getUpdater(), getLearningRate(), getMomentum(), getL2(),
                getSeed(), getWeightDecay(), getLrSchedule(), getEpochs());
        MultiLayerConfiguration conf = initial != null
                ? WarmStart.configuration(initial, labels.length, settings, getFrozenLayers())
                : spec.toConfiguration(shape[0], shape[1], shape[2], labels.length, settings);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        if (initial != null) {
            WarmStart.copyWeights(initial, net, labels);
            LOG.info("CnnClassifier {}: warm start from {}{}", uid, getInitialModel(),
                    getFrozenLayers() > 0 ? ", first " + getFrozenLayers() + " layers frozen" : "");
        }

        LongAccumulator skipped = sc.sc().longAccumulator("spark-dl skipped rows");
        Dataset<Row> trainRows = data;
        Dataset<Row> valRows = null;
        if (withIndicator != null) {
            org.apache.spark.sql.Column isVal = org.apache.spark.sql.functions.coalesce(
                    col(getValidationIndicatorCol()), org.apache.spark.sql.functions.lit(false));
            trainRows = withIndicator.where(org.apache.spark.sql.functions.not(isVal)).drop(getValidationIndicatorCol());
            valRows = withIndicator.where(isVal).drop(getValidationIndicatorCol());
        } else if (getValidationFraction() > 0) {
            org.apache.spark.sql.Column isVal = io.sparkdl.train.ValidationSplit.isValidation(data.schema(),
                    getFeaturesCol(), getLabelCol(), getValidationFraction(), getSeed());
            trainRows = data.where(org.apache.spark.sql.functions.not(isVal));
            valRows = data.where(isVal);
        }
        LabelEncoder encoder = new LabelEncoder(labels, data.schema().apply(1).dataType() instanceof StringType,
                getLabelCol());
        // Bounded blocks, cached deserialized: a block is a byte[] of uint8 pixels and an int[] of labels, already
        // the compact form, so serialized caching would only add a copy to every round's pass over them; what
        // does not fit in memory goes to disk whole blocks at a time (Kryo: the raw bytes).
        long blockBytes = ImageBlocks.blockBytes(dataset.sparkSession().conf().get(ImageBlocks.BLOCK_BYTES_CONF, ""));
        JavaRDD<ImageBlock> train = toBlocks(trainRows, workers, shape, encoder, skipped, blockBytes)
                .persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<ImageBlock> val = valRows == null ? null
                : toBlocks(valRows, workers, shape, encoder, skipped, blockBytes).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            // counting fills the cache training reads anyway (and reads and decodes the images, unless the input is cached)
            long tCache = System.nanoTime();
            long trainImages = imageCount(train);
            int perBlock = ImageBlocks.imagesPerBlock(blockBytes, shape[0] * shape[1] * shape[2]);
            LOG.info(String.format(java.util.Locale.ROOT, "CnnClassifier %s: %,d training images cached as blocks in "
                            + "%.1f s, reading and decoding included unless the input was cached (blocks of at most %,d "
                            + "bytes, %,d images of %dx%dx%d; %s)", uid,
                    trainImages, (System.nanoTime() - tCache) / 1e9, blockBytes, perBlock, shape[2], shape[0], shape[1],
                    cacheUse(sc, train.id())));
            WorkerPlan plan = WorkerPlan.choose(trainImages, getBatchSize(), isSet(batchSize), getNumWorkers(),
                    sc.defaultParallelism(),
                    getAveragingFrequency(), isSet(averagingFrequency), getBlockMomentum());
            if (plan.workers() != workers) {
                // small data: fewer, fuller partitions (decoding the small set again is cheap)
                train.unpersist(false);
                skipped.reset(); // counted again by the new blocks
                workers = plan.workers();
                train = toBlocks(trainRows, workers, shape, encoder, skipped, blockBytes)
                        .persist(StorageLevel.MEMORY_AND_DISK());
            }
            long valImages = val == null ? 0 : imageCount(val);
            if (!plan.note().isEmpty() && getNumWorkers() > 0) {
                LOG.warn("CnnClassifier {}: {}", uid, plan.note());
            }
            LOG.info("CnnClassifier {}: {}{}", uid, plan.describe(), val == null ? ", no validation split"
                    : String.format(java.util.Locale.ROOT, ", %,d images held out for validation%s", valImages,
                    trainImages + valImages < SMALL_DATA ? " (a small set: each held-out image is one fewer to "
                            + "train on; validationFraction 0 trains on all)" : ""));
            if (blocksCached != null) {
                blocksCached.run();
            }
            double mu = plan.blockMomentum();
            TrainingStrategy strategy = new ParameterAveraging(plan.averagingFrequency(), 2, mu);
            boolean torch = getEngine().equals("torch");
            // torch builds from a spec: with a warm start, the arch (or built-in) that describes the initial model;
            // the warm-started weights come from net (same flat layout), frozen layers from the spec
            String torchArch = !torch ? null : initial == null ? getArch()
                    : WarmStart.torchArch(conf, getArch(), getInitialModel(), shape, labels.length, settings);
            // one task per core: tasks x libtorch threads stay within the driver's (local mode) cores
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors()
                    / Math.max(1, Math.min(workers, sc.defaultParallelism())));
            EngineSpec engineSpec = torch
                    ? new EngineSpec("torch", conf.toJson(), torchArch, shape[0], shape[1],
                    shape[2], labels.length, settings, threads, initial == null ? 0 : getFrozenLayers(), getPrecision())
                    : EngineSpec.nd4j(conf.toJson());
            EpochDriver driver = new EpochDriver(strategy, new TrainingConfig(engineSpec, getEpochs(), plan.batchSize(),
                    getSeed(), getTrainAccuracySample(), getEarlyStoppingPatience()))
                    .addListener(progressLog(skipped));
            if (!getCheckpointDir().isEmpty()) {
                String fingerprint = Integer.toHexString((conf.toJson() + "|" + String.join(",", labels) + "|"
                        + plan.batchSize() + "|" + workers + "|" + plan.averagingFrequency() + "|" + mu + "|" + getSeed()
                        + "|" + getInitialModel() + "|" + normalization + "|" + augmentation + "|"
                        + getEarlyStoppingPatience() + "|" + getEngine()
                        + (getPrecision().equals("fp32") ? "" : "|" + getPrecision())).hashCode());
                driver.checkpointTo(new CheckpointStore(getCheckpointDir(), sc.hadoopConfiguration(), fingerprint),
                        getCheckpointDir());
            }
            TrainingResult result = driver.train(
                    new TrainingData(train, val, labels.length, normalization, augmentation),
                    TrainingState.start(net.params().toFloatVector(), null));
            if (initial != null && getFrozenLayers() > 0) {
                // the saved model trains normally when warm-started again: rebuild without the frozen updaters
                net = new MultiLayerNetwork(WarmStart.configuration(initial, labels.length, settings, 0));
                net.init();
                result = new TrainingResult(result.params(), null, result.history(), result.keptEpoch());
            }
            net.setParams(Nd4j.createFromArray(result.params()).reshape(1, result.params().length));
            // the model keeps a DL4J network: the torch engine's parameters share its layout, its updater state not
            if (!torch && result.updaterState() != null && net.getUpdater().getStateViewArray() != null) {
                net.getUpdater().getStateViewArray().assign(
                        Nd4j.createFromArray(result.updaterState()).reshape(net.getUpdater().getStateViewArray().shape()));
            }
            String described = strategy.describe();
            if (getEarlyStoppingPatience() > 0) {
                described += "; early stopping, patience " + getEarlyStoppingPatience() + ": weights of epoch "
                        + result.keptEpoch() + " of " + result.history().size();
            }
            // the arch lets the model run on either engine (a warm start keeps the initial model's layers)
            CnnClassifierModel model = new CnnClassifierModel(uid, labels, net, shape,
                    new CnnTrainingSummary(result.history(), skipped.value(), described, workers, result.keptEpoch()),
                    normalization, initial != null ? initial.arch() : getArch());
            copyValues(model, ParamMap.empty());
            model.setParent(this);
            return model;
        } finally {
            train.unpersist(false);
            if (val != null) {
                val.unpersist(false);
            }
        }
    }

    /** The per-epoch log line (figures and ETA); the first also warns about rows skipped while decoding. */
    private TrainingListener progressLog(LongAccumulator skipped) {
        List<EpochStats> seen = new ArrayList<>();
        return st -> {
            if (seen.isEmpty() && skipped.value() > 0) {
                LOG.warn("CnnClassifier skipped {} rows with no image or no label (undecodable files?)",
                        skipped.value());
            }
            seen.add(st);
            double perEpoch = seen.stream().mapToDouble(EpochStats::seconds).average().orElse(0);
            int left = getEpochs() - st.epoch();
            LOG.info("CnnClassifier {} {} [{}/{}{}]", uid, st, st.epoch(), getEpochs(),
                    left > 0 ? String.format(", ETA %.0f s", left * perEpoch) : "");
        };
    }

    /** Class names: distinct strings sorted, nominal metadata, or "0".."max" for numeric labels. */
    private String[] labelNames(Dataset<?> dataset) {
        StructField f = dataset.schema().apply(getLabelCol());
        Dataset<Row> labels = dataset.toDF().select(col(getLabelCol())).where(col(getLabelCol()).isNotNull());
        String[] names;
        if (f.dataType() instanceof StringType) {
            names = labels.distinct().as(org.apache.spark.sql.Encoders.STRING()).collectAsList()
                    .stream().sorted().toArray(String[]::new);
        } else {
            Attribute attr = Attribute.fromStructField(f);
            if (attr instanceof NominalAttribute nom && nom.values().isDefined()) {
                names = nom.values().get();
            } else {
                Row r = labels.agg(org.apache.spark.sql.functions.min(col(getLabelCol())),
                        org.apache.spark.sql.functions.max(col(getLabelCol()))).first();
                if (r.isNullAt(0)) {
                    names = new String[0];
                } else {
                    double min = ((Number) r.get(0)).doubleValue();
                    double max = ((Number) r.get(1)).doubleValue();
                    if (min < 0 || max != Math.rint(max) || max > 100_000) {
                        throw new IllegalArgumentException("Numeric labels in column " + getLabelCol()
                                + " must be class indices 0, 1, 2, ... but range from " + min + " to " + max);
                    }
                    names = new String[(int) max + 1];
                    for (int i = 0; i < names.length; i++) {
                        names[i] = Integer.toString(i);
                    }
                }
            }
        }
        if (names.length < 2) {
            throw new IllegalArgumentException("CnnClassifier needs at least 2 classes in column " + getLabelCol()
                    + " but found " + names.length + (names.length == 1 ? " (" + names[0] + ")" : "")
                    + (names.length == 0 ? " (is the dataset empty?)" : ""));
        }
        return names;
    }

    /** {height, width, channels}: explicit params, then the arch's own, then the first image's. */
    private int[] inputShape(NetworkSpec spec, Dataset<Row> data) {
        int[] s = spec.defaultInput();
        int h = getHeight() > 0 ? getHeight() : s != null ? s[0] : 0;
        int w = getWidth() > 0 ? getWidth() : s != null ? s[1] : 0;
        int c = getChannels() > 0 ? getChannels() : s != null ? s[2] : 0;
        if (h == 0 || c == 0) {
            List<Row> first = data.where(col(getFeaturesCol()).isNotNull()).select(col(getFeaturesCol()))
                    .limit(1).collectAsList();
            if (first.isEmpty()) {
                throw new IllegalArgumentException("Column " + getFeaturesCol() + " has no decodable image");
            }
            Row img = first.get(0).getStruct(0);
            if (h == 0) {
                h = img.getInt(1);
                w = img.getInt(2);
            }
            if (c == 0) {
                c = img.getInt(3) == 1 ? 1 : 3;
            }
        }
        return new int[]{h, w, c};
    }

    /** Where the cached blocks of RDD {@code id} are, as Spark's block managers report them. */
    private static String cacheUse(JavaSparkContext sc, int id) {
        for (org.apache.spark.storage.RDDInfo info : sc.sc().getRDDStorageInfo()) {
            if (info.id() == id) {
                return String.format(java.util.Locale.ROOT, "%,d of %,d partitions cached, %,d MB in memory, %,d MB "
                                + "on disk", info.numCachedPartitions(), info.numPartitions(), info.memSize() >> 20,
                        info.diskSize() >> 20);
            }
        }
        return "not cached";
    }

    /** Below this many labelled images the log says what a validation split costs. */
    private static final long SMALL_DATA = 5_000;

    private static long imageCount(JavaRDD<ImageBlock> blocks) {
        return blocks.map(b -> (long) b.size()).fold(0L, Long::sum);
    }

    /**
     * The rows as cached training blocks: {@code workers} partitions, each cut into blocks of at most
     * {@code blockBytes} pixel bytes ({@link ImageBlocks}), made lazily so that a partition never has to be in
     * memory whole.
     */
    private static JavaRDD<ImageBlock> toBlocks(Dataset<Row> rows, int workers, int[] shape, LabelEncoder enc,
                                                LongAccumulator skipped, long blockBytes) {
        int h = shape[0];
        int w = shape[1];
        int c = shape[2];
        // Blocks must not depend on the order shuffle data arrives in (it varies between runs and
        // executors): assign rows by a hash of their pixels and label, and sort by it within a partition. Then
        // the same seed gives the same training on every run, and a retried task replays exactly.
        org.apache.spark.sql.Column key = org.apache.spark.sql.functions.xxhash64(
                col(rows.columns()[0] + ".data"), col(rows.columns()[1]));
        String column = rows.columns()[0];
        return rows.repartition(workers, key).sortWithinPartitions(key).javaRDD().mapPartitions((Iterator<Row> it) ->
                ImageBlocks.cut(new Iterator<>() {
                    private ImageBlocks.LabelledImage next;

                    @Override
                    public boolean hasNext() {
                        while (next == null && it.hasNext()) {
                            Row r = it.next();
                            if (r.isNullAt(0) || r.isNullAt(1)) {
                                skipped.add(1);
                                continue;
                            }
                            int label = enc.index(r.get(1));
                            ImageCodec.Pixels px;
                            try {
                                px = ImageStruct.pixels(r.getStruct(0));
                            } catch (ImageCodec.DecodeException e) {
                                throw new IllegalArgumentException("image " + r.getStruct(0).get(0) + " in column "
                                        + column + ": " + e.getMessage(), e);
                            }
                            next = new ImageBlocks.LabelledImage(ImageCodec.toPlanar(px, c, h, w), label);
                        }
                        return next != null;
                    }

                    @Override
                    public ImageBlocks.LabelledImage next() {
                        if (!hasNext()) {
                            throw new java.util.NoSuchElementException();
                        }
                        ImageBlocks.LabelledImage out = next;
                        next = null;
                        return out;
                    }
                }, c, h, w, blockBytes));
    }

    /** Maps label values to class indices on the executors. */
    static final class LabelEncoder implements java.io.Serializable {
        private final Map<String, Integer> byName = new HashMap<>();
        private final boolean strings;
        private final int numClasses;
        private final String column;

        LabelEncoder(String[] names, boolean strings, String column) {
            for (int i = 0; i < names.length; i++) {
                byName.put(names[i], i);
            }
            this.strings = strings;
            this.numClasses = names.length;
            this.column = column;
        }

        int index(Object v) {
            if (strings) {
                Integer i = byName.get((String) v);
                if (i == null) {
                    throw new IllegalStateException("Label '" + v + "' in column " + column + " is not a known class");
                }
                return i;
            }
            double d = ((Number) v).doubleValue();
            if (d < 0 || d >= numClasses || d != Math.rint(d)) {
                throw new IllegalArgumentException("Label " + v + " in column " + column
                        + " is not a class index in [0, " + numClasses + ")");
            }
            return (int) d;
        }
    }

    @Override
    public CnnClassifier copy(ParamMap extra) {
        return (CnnClassifier) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    /** Reads saved classifiers, also those of releases that named height, width and channels imageHeight, ... */
    public static MLReader<CnnClassifier> read() {
        return SparkMLInternals.paramsReader(CnnClassifier.class, RENAMED);
    }

    /** Params renamed since earlier releases: old name to new. */
    static final Map<String, String> RENAMED = Map.of("imageHeight", "height", "imageWidth", "width",
            "imageChannels", "channels");

    public static CnnClassifier load(String path) {
        return read().load(path);
    }
}
