package io.sparkdl.classification;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
import io.sparkdl.engine.InspectableNetwork;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.image.Normalization;
import io.sparkdl.io.EpochStatsCodec;
import io.sparkdl.io.LegacyModelData;
import io.sparkdl.io.ModelData;
import io.sparkdl.io.ModelFileException;
import io.sparkdl.io.NetworkZip;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasInferenceBatchSize;
import io.sparkdl.train.EpochStats;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.train.NetworkPool;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;

/**
 * A trained CNN classifier: class names plus a DL4J network. {@code transform} adds
 * {@code rawPrediction} (log-probabilities), {@code probability}, {@code prediction} (class index, as a
 * double, as MLlib's evaluators expect) and {@code predictedLabel} (class name), running batched forward
 * passes per partition with the network broadcast once. Rows with a null image get null outputs.
 *
 * <p>The network is kept as DL4J's; {@code engine} (kept from training, settable) says which engine runs
 * inference: {@code nd4j} runs the DL4J network, {@code torch} a {@code TorchNetwork} of the same architecture
 * ({@link #arch()}) with the same flat parameters, built and pooled on each executor. A model that does not know
 * its arch (built from a bare DL4J network, or saved before models kept it) defaults to {@code nd4j}, and one saved
 * before the {@code engine} param existed loads as {@code nd4j}, the engine it was trained on.
 *
 * <p>Class indices follow the sorted class names, so {@code StringIndexer} with
 * {@code stringOrderType=alphabetAsc} on the label column gives matching indices for
 * {@code MulticlassClassificationEvaluator}.
 */
public class CnnClassifierModel extends Model<CnnClassifierModel> implements CnnClassifierParams<CnnClassifierModel>,
        HasInferenceBatchSize<CnnClassifierModel>, MLWritable {

    private final String uid;
    private final String[] labels;
    private final MultiLayerNetwork network;
    private final int[] inputShape;
    private final CnnTrainingSummary summary;
    private final Normalization normalization;
    /** The architecture (built-in name or JSON spec) the network was built from; null: unknown (nd4j only). */
    private final String arch;
    private final String cacheKey = "model-" + UUID.randomUUID();

    private final DeclaredParams declared;

    /**
     * @param inputShape {height, width, channels} of the network input
     */
    public CnnClassifierModel(String uid, String[] labels, MultiLayerNetwork network, int[] inputShape,
                              CnnTrainingSummary summary) {
        this(uid, labels, network, inputShape, summary, null);
    }

    /**
     * @param normalization the per-channel standardisation the network was trained with, applied to every
     *                      image before the network sees it (null: pixels / 255)
     */
    public CnnClassifierModel(String uid, String[] labels, MultiLayerNetwork network, int[] inputShape,
                              CnnTrainingSummary summary, Normalization normalization) {
        this(uid, labels, network, inputShape, summary, normalization, null);
    }

    /**
     * @param arch the {@link NetworkSpec} (built-in name or JSON layer spec) the network was built from, which
     *             the torch engine builds its network from (null: unknown; the model then runs on nd4j only)
     * @throws IllegalArgumentException when {@code arch} does not describe {@code network}'s layers
     */
    public CnnClassifierModel(String uid, String[] labels, MultiLayerNetwork network, int[] inputShape,
                              CnnTrainingSummary summary, Normalization normalization, String arch) {
        if (arch != null && network != null) {
            String problem = archMismatch(arch, network, inputShape, labels.length);
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
        }
        this.arch = arch;
        if (normalization != null && normalization.channels() != inputShape[2]) {
            throw new IllegalArgumentException("normalization has " + normalization.channels()
                    + " channels but the network takes " + inputShape[2]);
        }
        this.normalization = normalization;
        this.uid = uid;
        this.labels = labels.clone();
        this.network = network;
        this.inputShape = inputShape.clone();
        this.summary = summary;
        declared = CnnClassifierParams.declare(this);
        HasInferenceBatchSize.declare(declared, "Images per forward pass in transform");
        if (arch == null) {
            setDefault(engine(), "nd4j"); // torch builds its network from the arch: without one, nd4j serves it
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

    /** Class names; index i is prediction i. */
    public String[] labels() {
        return labels.clone();
    }

    public int numClasses() {
        return labels.length;
    }

    /** {height, width, channels} the network takes; other images are converted on the fly. */
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** The standardisation applied to input images (null: pixels / 255 only). */
    public Normalization normalization() {
        return normalization;
    }

    /**
     * Saliency map of {@code image} for class {@code className} (null: the predicted class): where a change
     * of the pixels would most change that class's score. See {@link io.sparkdl.explain.Saliency}.
     */
    public io.sparkdl.explain.Saliency.Result saliency(io.sparkdl.image.ImageCodec.Pixels image, String className) {
        int idx = -1;
        if (className != null) {
            idx = Arrays.asList(labels).indexOf(className);
            if (idx < 0) {
                throw new IllegalArgumentException("class '" + className + "' is not one of the model's classes "
                        + Arrays.toString(labels));
            }
        }
        if (getEngine().equals("torch")) {
            try (InspectableNetwork net = torchNetwork(1)) {
                return io.sparkdl.explain.Saliency.explain(net, inputShape(), normalization, image, idx);
            }
        }
        return io.sparkdl.explain.Saliency.explain(network, inputShape(), normalization, image, idx);
    }

    /**
     * The architecture the network was built from (a built-in name or a JSON layer spec), or null for models
     * that do not know it (saved before the torch engine could serve them): those run on engine nd4j only.
     */
    public String arch() {
        return arch;
    }

    /**
     * Null when {@code arch} at this input shape and class count describes {@code net}'s layers (same layer
     * types, parameter counts and activation shapes), else what differs.
     */
    static String archMismatch(String arch, MultiLayerNetwork net, int[] shape, int numClasses) {
        MultiLayerConfiguration expected;
        try {
            expected = NetworkSpec.parse(arch).toConfiguration(shape[0], shape[1], shape[2], numClasses,
                    EngineSpec.INFERENCE_SETTINGS);
        } catch (RuntimeException e) {
            return "arch is not a network spec for input " + shape[0] + "x" + shape[1] + "x" + shape[2] + " and "
                    + numClasses + " classes: " + e.getMessage();
        }
        MultiLayerConfiguration actual = net.getLayerWiseConfigurations();
        int n = expected.getConfs().size();
        if (n != actual.getConfs().size()) {
            return "arch has " + n + " layers but the network " + actual.getConfs().size();
        }
        InputType in = InputType.convolutional(shape[0], shape[1], shape[2]);
        List<InputType> eTypes = expected.getLayerActivationTypes(in);
        List<InputType> aTypes = actual.getLayerActivationTypes(in);
        for (int i = 0; i < n; i++) {
            org.deeplearning4j.nn.conf.layers.Layer e = expected.getConf(i).getLayer();
            org.deeplearning4j.nn.conf.layers.Layer a = actual.getConf(i).getLayer();
            if (e.getClass() != a.getClass()) {
                return "layers[" + i + "] is a " + e.getClass().getSimpleName() + " in arch but a "
                        + a.getClass().getSimpleName() + " in the network";
            }
            long pe = e.initializer().numParams(expected.getConf(i));
            long pa = net.getLayer(i).numParams();
            if (pe != pa) {
                return "layers[" + i + "] has " + pe + " parameters in arch but " + pa + " in the network";
            }
            if (!eTypes.get(i).equals(aTypes.get(i))) {
                return "layers[" + i + "] outputs " + eTypes.get(i) + " in arch but " + aTypes.get(i)
                        + " in the network";
            }
        }
        return null;
    }

    /** The arch, or an error naming the stage when the torch engine cannot run without it. */
    private String requireArch() {
        if (arch == null) {
            throw new IllegalStateException("CnnClassifierModel " + uid + ": engine torch needs the model's "
                    + "architecture, which this model does not keep (saved before spark-dl kept it, or built without "
                    + "one); set engine to nd4j, or retrain it");
        }
        return arch;
    }

    /** The torch engine's inference spec for this model ({@code threads} libtorch intra-op threads). */
    private EngineSpec torchSpec(int threads) {
        return EngineSpec.inference("torch", null, requireArch(), inputShape[0], inputShape[1], inputShape[2],
                labels.length, threads);
    }

    /**
     * A fresh torch-engine network of this model with its weights, for one-off driver-side use (saliency,
     * embeddings probes); the caller closes it. Libtorch runs it on {@code threads} intra-op threads.
     */
    public InspectableNetwork torchNetwork(int threads) {
        EngineNetwork net = torchSpec(threads).build();
        if (!(net instanceof InspectableNetwork in)) {
            net.close();
            throw new IllegalStateException("the torch engine built a " + net.getClass().getName()
                    + ", which gives no activations or input gradients");
        }
        float[] p = network.params().toFloatVector();
        if (in.numParams() != p.length) {
            in.close();
            throw new IllegalStateException("CnnClassifierModel " + uid + ": the torch network of its arch has "
                    + in.numParams() + " parameters but the model " + p.length);
        }
        in.setParams(p);
        return in;
    }

    /** The DL4J network (shared, not a copy). */
    public MultiLayerNetwork network() {
        return network;
    }

    /** Training history: loss, accuracies and images/s per epoch. */
    public CnnTrainingSummary summary() {
        return summary;
    }

    public boolean hasSummary() {
        return summary != null;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        Nd4jBackend.init();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        boolean torch = getEngine().equals("torch");
        EngineSpec torchSpec = torch ? torchSpec(driverThreads(sc)) : null;
        Broadcast<NetworkBlob> blob = sc.broadcast(new NetworkBlob(torch ? null
                : network.getLayerWiseConfigurations().toJson(), network.params().toFloatVector()));
        // the key holds the engine: setEngine on this instance must not hand out the other engine's network
        Predict fn = new Predict(cacheKey + ":" + getEngine(), blob, torchSpec, labels, inputShape,
                dataset.schema().fieldIndex(getFeaturesCol()), HasInferenceBatchSize.imagesPerForwardPass(
                getInferenceBatchSize(), inputShape),
                dataset.schema().size(), normalization);
        return dataset.toDF().mapPartitions(fn, Encoders.row(out));
    }

    /**
     * libtorch threads per task outside a task's context: the driver's cores over the tasks that run at once
     * (in a task on a cluster, {@code TorchThreads} takes the task's cpus instead).
     */
    public static int driverThreads(JavaSparkContext sc) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, sc.defaultParallelism()));
    }

    /** What executors need to rebuild the network: configuration JSON (nd4j; null for torch) and flat weights. */
    record NetworkBlob(String configurationJson, float[] params) implements Serializable {
    }

    /** Batched prediction over one partition. */
    private static final class Predict implements MapPartitionsFunction<Row, Row> {
        private final String key;
        private final Broadcast<NetworkBlob> blob;
        /** The torch engine's spec (null: nd4j); its threads are replaced by the task's. */
        private final EngineSpec torchSpec;
        private final String[] labels;
        private final int[] shape;
        private final int imageIdx;
        private final int batch;
        private final int nIn;
        private final Normalization normalization;

        Predict(String key, Broadcast<NetworkBlob> blob, EngineSpec torchSpec, String[] labels, int[] shape,
                int imageIdx, int batch, int nIn, Normalization normalization) {
            this.torchSpec = torchSpec;
            this.normalization = normalization;
            this.key = key;
            this.blob = blob;
            this.labels = labels;
            this.shape = shape;
            this.imageIdx = imageIdx;
            this.batch = batch;
            this.nIn = nIn;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return new Iterator<>() {
                private final List<Row> ready = new ArrayList<>();
                private int pos;

                @Override
                public boolean hasNext() {
                    if (pos < ready.size()) {
                        return true;
                    }
                    ready.clear();
                    pos = 0;
                    if (!rows.hasNext()) {
                        return false;
                    }
                    fill();
                    return !ready.isEmpty();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return ready.get(pos++);
                }

                private void fill() {
                    List<Row> in = new ArrayList<>(batch);
                    while (rows.hasNext() && in.size() < batch) {
                        in.add(rows.next());
                    }
                    ImageStruct.PlanarBatch pb = ImageStruct.planar(in, imageIdx, shape, normalization);
                    int n = pb.n();
                    int[] slot = pb.slots();
                    float[][] probs = new float[n][];
                    if (n > 0 && torchSpec != null) {
                        EngineSpec spec = EngineSpec.inference("torch", null, torchSpec.arch(), shape[0], shape[1],
                                shape[2], labels.length, torchSpec.threads());
                        EngineNetwork net = NetworkPool.borrow(key, spec, blob.value().params());
                        try {
                            float[] o = net.output(pb.data(), n);
                            int k = labels.length;
                            for (int i = 0; i < n; i++) {
                                probs[i] = Arrays.copyOfRange(o, i * k, (i + 1) * k);
                            }
                        } finally {
                            NetworkPool.giveBack(key, net);
                        }
                    } else if (n > 0) {
                        // The key is this model instance's: a pooled network already holds its weights.
                        MultiLayerNetwork net = NetworkPool.borrow(key, blob.value().configurationJson(),
                                blob.value().params());
                        try {
                            INDArray features = Nd4j.create(pb.data(), new long[]{n, shape[2], shape[0], shape[1]},
                                    'c');
                            INDArray o = net.output(features, false);
                            for (int i = 0; i < n; i++) {
                                probs[i] = o.getRow(i).toFloatVector();
                            }
                        } finally {
                            NetworkPool.giveBack(key, net);
                        }
                    }
                    for (int i = 0; i < in.size(); i++) {
                        Row r = in.get(i);
                        Object[] v = new Object[nIn + 4];
                        for (int k = 0; k < nIn; k++) {
                            v[k] = r.get(k);
                        }
                        if (slot[i] >= 0) {
                            float[] p = probs[slot[i]];
                            double[] prob = new double[p.length];
                            double[] raw = new double[p.length];
                            int best = 0;
                            for (int k = 0; k < p.length; k++) {
                                prob[k] = p[k];
                                raw[k] = Math.log(Math.max(p[k], 1e-30));
                                if (p[k] > p[best]) {
                                    best = k;
                                }
                            }
                            v[nIn] = Vectors.dense(raw);
                            v[nIn + 1] = Vectors.dense(prob);
                            v[nIn + 2] = (double) best;
                            v[nIn + 3] = labels[best];
                        }
                        ready.add(RowFactory.create(v));
                    }
                }
            };
        }
    }

    @Override
    public CnnClassifierModel copy(ParamMap extra) {
        CnnClassifierModel m = new CnnClassifierModel(uid, labels, network, inputShape, summary, normalization, arch);
        return copyValues(m, extra).setParent(parent());
    }

    // ---- persistence: metadata/ (params), data/ (Parquet, one row: labels, input shape, normalisation, training
    //      summary), history/ (Parquet, one row per epoch, EpochStatsCodec.SCHEMA), network/network.zip

    /**
     * The columns of {@code data/}. The normalisation columns are null for a model without one, the summary
     * columns (skippedRows, strategy, workers, keptEpoch) for a model without a training summary.
     */
    static final StructType DATA_SCHEMA = new StructType()
            .add("labels", DataTypes.createArrayType(DataTypes.StringType, false), false)
            .add("height", DataTypes.IntegerType, false)
            .add("width", DataTypes.IntegerType, false)
            .add("channels", DataTypes.IntegerType, false)
            .add("normalizationMean", ModelData.DOUBLES, true)
            .add("normalizationStd", ModelData.DOUBLES, true)
            .add("skippedRows", DataTypes.LongType, true)
            .add("strategy", DataTypes.StringType, true)
            .add("workers", DataTypes.IntegerType, true)
            .add("keptEpoch", DataTypes.IntegerType, true);
    /**
     * Columns added after the first Parquet layout (absent in older models' {@code data/}: read as null). arch: the
     * network spec (built-in name or JSON layer spec), null when unknown.
     */
    static final StructType DATA_SCHEMA_ADDED = new StructType()
            .add("arch", DataTypes.StringType, true);
    /** What {@code write} writes: both. */
    static final StructType WRITTEN_SCHEMA = new StructType(java.util.stream.Stream.concat(
            Arrays.stream(DATA_SCHEMA.fields()), Arrays.stream(DATA_SCHEMA_ADDED.fields()))
            .toArray(org.apache.spark.sql.types.StructField[]::new));
    /** The longest arch (a JSON layer spec) a saved model may have. */
    static final int MAX_ARCH_CHARS = 1 << 20;
    /** The most classes a saved model may have. */
    static final int MAX_LABELS = 1_000_000;

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(CnnClassifierModel.this, path, spark.sparkContext());
                CnnTrainingSummary s = summary;
                Row row = RowFactory.create(labels, inputShape[0], inputShape[1], inputShape[2],
                        normalization == null ? null : normalization.mean(),
                        normalization == null ? null : normalization.std(),
                        s == null ? null : s.skippedRows(), s == null ? null : s.strategy(),
                        s == null ? null : s.workers(), s == null ? null : s.keptEpoch(), arch);
                ModelData.write(spark, path + "/" + ModelData.DATA, WRITTEN_SCHEMA, List.of(row));
                if (s != null) {
                    EpochStatsCodec.write(spark, s.history(), path + "/history");
                }
                NetworkZip.write(network, path + "/network/network.zip", spark.sparkContext().hadoopConfiguration());
            }
        };
    }

    public static MLReader<CnnClassifierModel> read() {
        return new Reader();
    }

    public static CnnClassifierModel load(String path) {
        return read().load(path);
    }

    private static final class Reader extends MLReader<CnnClassifierModel> {
        @Override
        public CnnClassifierModel load(String path) {
            SparkSession spark = sparkSession();
            SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                    CnnClassifierModel.class);
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            boolean legacy = LegacyModelData.isLegacy(path, "model.json", hc);
            String dir = path + "/" + ModelData.DATA;
            Row row = legacy ? null : ModelData.read(spark, dir, DATA_SCHEMA, DATA_SCHEMA_ADDED, 1).stream()
                    .findFirst().orElseThrow(() -> new ModelFileException(dir, "holds no row"));
            LegacyModelData.Classifier d = legacy ? LegacyModelData.classifier(path, hc) : data(spark, path, row);
            String arch = legacy || row.isNullAt(row.fieldIndex("arch")) ? null : row.getString(row.fieldIndex("arch"));
            ModelData.require(arch == null || arch.length() <= MAX_ARCH_CHARS, dir,
                    "an arch of at most " + MAX_ARCH_CHARS + " characters");
            // never DL4J's ModelSerializer: it deserializes a preprocessor.bin entry with ObjectInputStream
            MultiLayerNetwork net = NetworkZip.read(path + "/network/network.zip", hc);
            if (arch != null) {
                String problem = archMismatch(arch, net, d.inputShape(), d.labels().length);
                if (problem != null) {
                    throw new ModelFileException(dir, "column 'arch' does not describe network/network.zip: "
                            + problem);
                }
            }
            CnnClassifierModel m = new CnnClassifierModel(meta.uid(), d.labels(), net, d.inputShape(), d.summary(),
                    d.normalization(), arch);
            meta.applyParams(m);
            if (!meta.recorded("engine") || arch == null && !m.isSet(m.engine())) {
                // saved before the engine param existed (trained on nd4j), or without the arch torch needs
                m.setEngine("nd4j");
            }
            return m;
        }

        private static LegacyModelData.Classifier data(SparkSession spark, String path, Row r) {
            String dir = path + "/" + ModelData.DATA;
            String[] labels = ModelData.strings(r, "labels", dir);
            ModelData.require(labels.length > 0 && labels.length <= MAX_LABELS, dir,
                    "between 1 and " + MAX_LABELS + " labels");
            int[] shape = new int[3];
            for (int i = 0; i < 3; i++) {
                shape[i] = (Integer) ModelData.value(r, new String[]{"height", "width", "channels"}[i], dir);
                ModelData.require(shape[i] > 0, dir, "a positive input height, width and channel count");
            }
            double[] mean = ModelData.doubles(r, "normalizationMean", dir);
            double[] std = ModelData.doubles(r, "normalizationStd", dir);
            ModelData.require(mean == null ? std == null : std != null && mean.length == std.length
                    && mean.length > 0, dir, "a normalisation mean and std per channel, or neither");
            CnnTrainingSummary summary = null;
            if (!r.isNullAt(r.fieldIndex("keptEpoch"))) {
                summary = new CnnTrainingSummary(EpochStatsCodec.read(spark, path + "/history"),
                        (Long) ModelData.value(r, "skippedRows", dir), (String) ModelData.value(r, "strategy", dir),
                        (Integer) ModelData.value(r, "workers", dir), (Integer) ModelData.value(r, "keptEpoch", dir));
            }
            return new LegacyModelData.Classifier(labels, shape, mean == null ? null : new Normalization(mean, std),
                    summary);
        }
    }
}
