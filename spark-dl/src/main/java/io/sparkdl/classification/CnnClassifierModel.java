package io.sparkdl.classification;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.image.Normalization;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.NetworkZip;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasInferenceBatchSize;
import io.sparkdl.train.EpochStats;
import io.sparkdl.train.NetworkPool;
import org.apache.hadoop.conf.Configuration;
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
 * <p>Class indices follow the sorted class names, so {@code StringIndexer} with
 * {@code stringOrderType=alphabetAsc} on the label column gives matching indices for
 * {@code MulticlassClassificationEvaluator}.
 */
public class CnnClassifierModel extends Model<CnnClassifierModel> implements CnnClassifierParams<CnnClassifierModel>,
        HasInferenceBatchSize<CnnClassifierModel>, MLWritable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String uid;
    private final String[] labels;
    private final MultiLayerNetwork network;
    private final int[] inputShape;
    private final CnnTrainingSummary summary;
    private final Normalization normalization;
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
        return io.sparkdl.explain.Saliency.explain(this, image, idx);
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
        Broadcast<NetworkBlob> blob = sc.broadcast(new NetworkBlob(network.getLayerWiseConfigurations().toJson(),
                network.params().toFloatVector()));
        Predict fn = new Predict(cacheKey, blob, labels, inputShape, dataset.schema().fieldIndex(getFeaturesCol()),
                getInferenceBatchSize(), dataset.schema().size(), normalization);
        return dataset.toDF().mapPartitions(fn, Encoders.row(out));
    }

    /** What executors need to rebuild the network: configuration JSON and flat weights. */
    record NetworkBlob(String configurationJson, float[] params) implements Serializable {
    }

    /** Batched prediction over one partition. */
    private static final class Predict implements MapPartitionsFunction<Row, Row> {
        private final String key;
        private final Broadcast<NetworkBlob> blob;
        private final String[] labels;
        private final int[] shape;
        private final int imageIdx;
        private final int batch;
        private final int nIn;
        private final Normalization normalization;

        Predict(String key, Broadcast<NetworkBlob> blob, String[] labels, int[] shape, int imageIdx, int batch,
                int nIn, Normalization normalization) {
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
                    if (n > 0) {
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
        CnnClassifierModel m = new CnnClassifierModel(uid, labels, network, inputShape, summary, normalization);
        return copyValues(m, extra).setParent(parent());
    }

    // ---- persistence: metadata/ (params), data/model.json (labels, shape, history), network/network.zip

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<CnnClassifierModel> read() {
        return new Reader();
    }

    public static CnnClassifierModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final CnnClassifierModel m;

        Writer(CnnClassifierModel m) {
            this.m = m;
        }

        @Override
        public void saveImpl(String path) {
            SparkSession spark = sparkSession();
            SparkMLInternals.saveMetadata(m, path, spark.sparkContext());
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            ObjectNode data = JSON.createObjectNode();
            ArrayNode labels = data.putArray("labels");
            for (String l : m.labels) {
                labels.add(l);
            }
            ArrayNode shape = data.putArray("inputShape");
            for (int s : m.inputShape) {
                shape.add(s);
            }
            if (m.normalization != null) {
                ObjectNode n = data.putObject("normalization");
                ArrayNode mean = n.putArray("mean");
                ArrayNode std = n.putArray("std");
                for (int c = 0; c < m.normalization.channels(); c++) {
                    mean.add(m.normalization.mean()[c]);
                    std.add(m.normalization.std()[c]);
                }
            }
            if (m.summary != null) {
                ObjectNode s = data.putObject("summary");
                s.put("skippedRows", m.summary.skippedRows());
                s.put("strategy", m.summary.strategy());
                s.put("workers", m.summary.workers());
                s.put("keptEpoch", m.summary.keptEpoch());
                ArrayNode h = s.putArray("history");
                for (EpochStats e : m.summary.history()) {
                    ObjectNode o = h.addObject();
                    o.put("epoch", e.epoch());
                    o.put("loss", e.loss());
                    o.put("trainAccuracy", e.trainAccuracy());
                    if (!Double.isNaN(e.validationAccuracy())) {
                        o.put("validationAccuracy", e.validationAccuracy());
                    }
                    o.put("imagesPerSecond", e.imagesPerSecond());
                    o.put("seconds", e.seconds());
                }
            }
            HadoopFiles.writeString(path + "/data/model.json", data.toPrettyString(), hc);
            NetworkZip.write(m.network, path + "/network/network.zip", hc);
        }
    }

    private static final class Reader extends MLReader<CnnClassifierModel> {
        @Override
        public CnnClassifierModel load(String path) {
            SparkSession spark = sparkSession();
            SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                    CnnClassifierModel.class);
            Configuration hc = spark.sparkContext().hadoopConfiguration();
            JsonNode data;
            try {
                data = JSON.readTree(HadoopFiles.readString(path + "/data/model.json", hc));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("Corrupt model data in " + path + "/data/model.json", e);
            }
            // never DL4J's ModelSerializer: it deserializes a preprocessor.bin entry with ObjectInputStream
            MultiLayerNetwork net = NetworkZip.read(path + "/network/network.zip", hc);
            String[] labels = new String[data.get("labels").size()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = data.get("labels").get(i).asText();
            }
            int[] shape = new int[3];
            for (int i = 0; i < 3; i++) {
                shape[i] = data.get("inputShape").get(i).asInt();
            }
            CnnTrainingSummary summary = null;
            JsonNode s = data.get("summary");
            if (s != null) {
                List<EpochStats> h = new ArrayList<>();
                for (JsonNode e : s.get("history")) {
                    h.add(new EpochStats(e.get("epoch").asInt(), e.get("loss").asDouble(),
                            e.get("trainAccuracy").asDouble(),
                            e.has("validationAccuracy") ? e.get("validationAccuracy").asDouble() : Double.NaN,
                            e.get("imagesPerSecond").asDouble(), e.get("seconds").asDouble()));
                }
                summary = s.has("keptEpoch")
                        ? new CnnTrainingSummary(h, s.get("skippedRows").asLong(), s.get("strategy").asText(),
                        s.get("workers").asInt(), s.get("keptEpoch").asInt())
                        : new CnnTrainingSummary(h, s.get("skippedRows").asLong(), s.get("strategy").asText(),
                        s.get("workers").asInt());
            }
            Normalization norm = null;
            if (data.has("normalization")) {
                JsonNode n = data.get("normalization");
                double[] mean = new double[n.get("mean").size()];
                double[] std = new double[mean.length];
                for (int c = 0; c < mean.length; c++) {
                    mean[c] = n.get("mean").get(c).asDouble();
                    std[c] = n.get("std").get(c).asDouble();
                }
                norm = new Normalization(mean, std);
            }
            CnnClassifierModel m = new CnnClassifierModel(meta.uid(), labels, net, shape, summary, norm);
            meta.applyParams(m);
            return m;
        }
    }
}
