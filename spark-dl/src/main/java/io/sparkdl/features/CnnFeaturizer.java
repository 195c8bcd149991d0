package io.sparkdl.features;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
import io.sparkdl.engine.InspectableNetwork;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.BatchIterator;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasInferenceBatchSize;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.SharedParams;
import io.sparkdl.train.NetworkPool;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * CNN embeddings: the activations of one layer of a trained {@link CnnClassifierModel} (by default the
 * layer before the output, for LeNet the 500 dense units) as an ML vector column, computed in batched
 * forward passes per partition with the network broadcast once. The recipe "CNN features into another
 * classifier": {@code new CnnFeaturizer(cnn)} then MLlib's {@code LogisticRegression} on {@code embedding}.
 * It runs on the model's engine ({@code engine} of the {@link CnnClassifierModel}): DL4J's network, or on
 * {@code torch} a libtorch network of the model's arch with the same weights, pooled per executor.
 */
public class CnnFeaturizer extends Transformer implements HasInputCol<CnnFeaturizer>, HasOutputCol<CnnFeaturizer>,
        HasInferenceBatchSize<CnnFeaturizer>, MLWritable {
    private final String uid;
    private CnnClassifierModel model;
    private final String cacheKey = "featurizer-" + UUID.randomUUID();

    private final DeclaredParams declared;
    private final IntParam layer;

    public CnnFeaturizer() {
        this(Identifiable$.MODULE$.randomUID("cnnFeaturizer"));
    }

    public CnnFeaturizer(String uid) {
        this.uid = uid;
        declared = new DeclaredParams(this);
        HasInputCol.declare(declared, "Image struct column (as the model was trained on).", "image");
        HasOutputCol.declare(declared, "Embedding vector column.", "embedding");
        HasInferenceBatchSize.declare(declared, "Images per forward pass");
        layer = new IntParam(this, "layer",
                "Index of the layer whose activations are the embedding (0 = first); -1 is the layer before the output.",
                SharedParams.<Object>validator(v -> (Integer) v >= -1));
        setDefault(layer, -1);
    }

    public CnnFeaturizer(CnnClassifierModel model) {
        this();
        setModel(model);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public IntParam layer() { return layer; }
    public int getLayer() { return (Integer) $(layer); }
    public CnnFeaturizer setLayer(int v) { set(layer, v); return this; }

    /** @deprecated renamed {@code inferenceBatchSize}, as in CnnClassifierModel; use {@link #getInferenceBatchSize()}. */
    @Deprecated public int getBatchSize() { return getInferenceBatchSize(); }
    /** @deprecated renamed {@code inferenceBatchSize}; use {@link #setInferenceBatchSize(int)}. */
    @Deprecated public CnnFeaturizer setBatchSize(int v) { return setInferenceBatchSize(v); }

    public CnnFeaturizer setModel(CnnClassifierModel m) {
        this.model = m;
        return this;
    }

    public CnnClassifierModel getModel() {
        return model;
    }

    /** The layer index used: {@code layer}, or the one before the output for -1. */
    public int resolvedLayer() {
        requireModel();
        int n = model.network().getnLayers();
        int l = getLayer() < 0 ? n - 2 : getLayer();
        if (l < 0 || l >= n) {
            throw new IllegalArgumentException("layer " + getLayer() + " is outside the network's layers 0.."
                    + (n - 1));
        }
        return l;
    }

    /** Size of the embedding vector. */
    public int embeddingSize() {
        int[] s = model.inputShape();
        INDArray probe = Nd4j.zeros(1, s[2], s[0], s[1]);
        return (int) model.network().feedForwardToLayer(resolvedLayer(), probe, false)
                .get(resolvedLayer() + 1).length();
    }

    private void requireModel() {
        if (model == null) {
            throw new IllegalStateException("CnnFeaturizer " + uid + " has no model: call setModel(cnnModel)");
        }
    }

    @Override
    public StructType transformSchema(StructType schema) {
        requireModel();
        resolvedLayer();
        StructField f = SharedParams.requireColumn(schema, getInputCol(), "Input");
        if (!ImageStruct.isImageStruct(f.dataType())) {
            throw new IllegalArgumentException("Input column '" + getInputCol()
                    + "' must be an image struct (decode it with ImageDecoder) but was " + f.dataType().simpleString());
        }
        SharedParams.requireAbsent(schema, SharedParams.requireName(getOutputCol(), "outputCol", this), "Output");
        return schema.add(getOutputCol(), SQLDataTypes.VectorType(), true);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        Nd4jBackend.init();
        MultiLayerNetwork net = model.network();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        boolean torch = model.getEngine().equals("torch");
        if (torch && model.arch() == null) {
            throw new IllegalStateException("CnnFeaturizer " + uid + ": its model " + model.uid() + " runs on engine "
                    + "torch but does not keep its architecture (saved before spark-dl kept it); set the model's "
                    + "engine to nd4j");
        }
        String arch = model.arch();
        int driverThreads = CnnClassifierModel.driverThreads(sc);
        int classes = model.numClasses();
        Broadcast<Object[]> blob = sc.broadcast(new Object[]{torch ? null : net.getLayerWiseConfigurations().toJson(),
            net.params().toFloatVector()});
        int idx = dataset.schema().fieldIndex(getInputCol());
        int nIn = dataset.schema().size();
        int[] shape = model.inputShape();
        io.sparkdl.image.Normalization norm = model.normalization();
        int lay = resolvedLayer();
        int bs = HasInferenceBatchSize.imagesPerForwardPass(getInferenceBatchSize(), shape);
        String key = cacheKey + ":" + model.getEngine();
        return dataset.toDF().mapPartitions((MapPartitionsFunction<Row, Row>) rows ->
                new BatchIterator(rows, bs, batch -> {
                    ImageStruct.PlanarBatch pb = ImageStruct.planar(batch, idx, shape, norm);
                    int n = pb.n();
                    int[] slot = pb.slots();
                    double[][] emb = new double[n][];
                    if (n > 0 && torch) {
                        EngineSpec spec = EngineSpec.inference("torch", null, arch, shape[0], shape[1], shape[2],
                                classes, driverThreads);
                        EngineNetwork nw = NetworkPool.borrow(key, spec, (float[]) blob.value()[1]);
                        try {
                            float[] a = ((InspectableNetwork) nw).activation(pb.data(), n, lay);
                            int d = a.length / n;
                            for (int i = 0; i < n; i++) {
                                double[] e = new double[d];
                                for (int k = 0; k < d; k++) {
                                    e[k] = a[i * d + k];
                                }
                                emb[i] = e;
                            }
                        } finally {
                            NetworkPool.giveBack(key, nw);
                        }
                    } else if (n > 0) {
                        Object[] b = blob.value();
                        MultiLayerNetwork nw = NetworkPool.borrow(key, (String) b[0], (float[]) b[1]);
                        try {
                            INDArray in = Nd4j.create(pb.data(), new long[]{n, shape[2], shape[0], shape[1]}, 'c');
                            INDArray a = nw.feedForwardToLayer(lay, in, false).get(lay + 1).reshape(n, -1);
                            for (int i = 0; i < n; i++) {
                                emb[i] = a.getRow(i).toDoubleVector();
                            }
                        } finally {
                            NetworkPool.giveBack(key, nw);
                        }
                    }
                    List<Row> o = new ArrayList<>(batch.size());
                    for (int i = 0; i < batch.size(); i++) {
                        o.add(BatchIterator.append(batch.get(i), nIn, slot[i] < 0 ? null : Vectors.dense(emb[slot[i]])));
                    }
                    return o;
                }), Encoders.row(out));
    }

    @Override
    public CnnFeaturizer copy(ParamMap extra) {
        CnnFeaturizer c = new CnnFeaturizer(uid);
        c.model = model;
        return copyValues(c, extra);
    }

    // ---- persistence: metadata/ (params) and model/ (the CnnClassifierModel)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                requireModel();
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(CnnFeaturizer.this, path, spark.sparkContext());
                try {
                    model.write().save(path + "/model");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException("Cannot save the featurizer's model to " + path + "/model", e);
                }
            }
        };
    }

    public static MLReader<CnnFeaturizer> read() {
        return new MLReader<>() {
            @Override
            public CnnFeaturizer load(String path) {
                // earlier releases named inferenceBatchSize batchSize
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, sparkSession().sparkContext(),
                        CnnFeaturizer.class, java.util.Map.of("batchSize", "inferenceBatchSize"), java.util.Set.of());
                CnnFeaturizer f = new CnnFeaturizer(meta.uid());
                meta.applyParams(f);
                f.model = CnnClassifierModel.load(path + "/model");
                return f;
            }
        };
    }

    public static CnnFeaturizer load(String path) {
        return read().load(path);
    }
}
