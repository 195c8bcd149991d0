package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.BatchIterator;
import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A fitted {@link ImagePCA}: the mean, the k principal axes (unit vectors, by decreasing variance) and
 * their variances. {@code transform} adds the k scores per row; {@link #inverseTransform} maps scores
 * back to the input space (reconstructions, which {@code HtmlReport.toPng} can show as pictures when the
 * input was an image).
 */
public class ImagePCAModel extends Model<ImagePCAModel> implements ImagePCAParams<ImagePCAModel>, MLWritable {
    private final String uid;
    private final double[] mean;
    private final double[][] components;
    private final double[] variance;
    private final double[] ratio;
    private final long numRows;

    private final DeclaredParams declared;
    private final Param<String> reconstructionCol;

    ImagePCAModel(String uid, double[] mean, double[][] components, double[] variance, double[] ratio, long numRows) {
        this.uid = uid;
        this.mean = mean;
        this.components = components;
        this.variance = variance;
        this.ratio = ratio;
        this.numRows = numRows;
        declared = ImagePCAParams.declare(this);
        reconstructionCol = declared.column("reconstructionCol", "Output column of inverseTransform.", "reconstruction");
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public Param<String> reconstructionCol() { return reconstructionCol; }
    public String getReconstructionCol() { return $(reconstructionCol()); }
    public ImagePCAModel setReconstructionCol(String v) { set(reconstructionCol(), v); return this; }

    /** Number of components. */
    public int k() {
        return components.length;
    }

    /** The mean that was subtracted (zeros without centering). */
    public Vector mean() {
        return Vectors.dense(mean.clone());
    }

    /** The principal axes as a d x k matrix (column j is component j), like MLlib's {@code PCAModel.pc}. */
    public DenseMatrix pc() {
        int d = mean.length;
        int k = components.length;
        double[] values = new double[d * k];
        for (int j = 0; j < k; j++) {
            System.arraycopy(components[j], 0, values, j * d, d);
        }
        return new DenseMatrix(d, k, values);
    }

    /** Variance along each component. */
    public Vector explainedVariance() {
        return Vectors.dense(variance.clone());
    }

    /** Share of the total variance along each component, like MLlib's {@code PCAModel.explainedVariance}. */
    public Vector explainedVarianceRatio() {
        return Vectors.dense(ratio.clone());
    }

    /** Rows the model was fitted on. */
    public long numRows() {
        return numRows;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        Nd4jBackend.init();
        Broadcast<float[][]> b = broadcastState(dataset);
        return dataset.toDF().mapPartitions(new Project(b, dataset.schema().fieldIndex(getInputCol()),
                dataset.schema().size(), getInputCol(), getWhitening(), false), Encoders.row(out));
    }

    /** Reconstructions from the scores in {@code outputCol}, as a vector column {@code reconstructionCol}. */
    public Dataset<Row> inverseTransform(Dataset<?> dataset) {
        StructField scores = SharedParams.requireColumn(dataset.schema(), getOutputCol(), "Scores");
        DataType t = scores.dataType();
        if (!t.equals(SQLDataTypes.VectorType())) {
            throw new IllegalArgumentException("Scores column '" + getOutputCol() + "' must be an ML vector but was "
                    + t.simpleString());
        }
        SharedParams.requireAbsent(dataset.schema(), getReconstructionCol(), "Reconstruction");
        StructType out = dataset.schema().add(getReconstructionCol(), SQLDataTypes.VectorType(), true);
        Nd4jBackend.init();
        Broadcast<float[][]> b = broadcastState(dataset);
        return dataset.toDF().mapPartitions(new Project(b, dataset.schema().fieldIndex(getOutputCol()),
                dataset.schema().size(), getOutputCol(), getWhitening(), true), Encoders.row(out));
    }

    private Broadcast<float[][]> broadcastState(Dataset<?> dataset) {
        int d = mean.length;
        int k = components.length;
        float[] w = new float[d * k];     // d x k row-major
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < d; i++) {
                w[i * k + j] = (float) components[j][i];
            }
        }
        float[] mu = new float[d];
        for (int i = 0; i < d; i++) {
            mu[i] = (float) mean[i];
        }
        float[] sd = new float[k];
        for (int j = 0; j < k; j++) {
            sd[j] = (float) Math.sqrt(Math.max(variance[j], 1e-30));
        }
        return JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext())
                .broadcast(new float[][]{w, mu, sd});
    }

    /** Batched projection (or reconstruction) of one partition. */
    private static final class Project implements MapPartitionsFunction<Row, Row> {
        private final Broadcast<float[][]> state;
        private final int idx;
        private final int nIn;
        private final String col;
        private final boolean whiten;
        private final boolean inverse;

        Project(Broadcast<float[][]> state, int idx, int nIn, String col, boolean whiten, boolean inverse) {
            this.state = state;
            this.idx = idx;
            this.nIn = nIn;
            this.col = col;
            this.whiten = whiten;
            this.inverse = inverse;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            float[][] s = state.value();
            int k = s[2].length;
            int d = s[1].length;
            INDArray w = Nd4j.create(s[0], new long[]{d, k}, 'c');
            INDArray mu = Nd4j.create(s[1], new long[]{1, d}, 'c');
            INDArray sd = Nd4j.create(s[2], new long[]{1, k}, 'c');
            int inWidth = inverse ? k : d;
            return new BatchIterator(rows, 1024, batch -> {
                List<Row> outRows = new ArrayList<>(batch.size());
                RowBlocks.Packed packed = RowBlocks.pack(batch, idx, col, inWidth);
                int[] slot = packed.slots();
                int n = packed.block() == null ? 0 : packed.block().rows();
                double[][] res = new double[n][];
                if (n > 0) {
                    INDArray m = packed.block().matrix();
                    INDArray o;
                    if (inverse) {
                        if (whiten) {
                            m.muliRowVector(sd);
                        }
                        o = m.mmul(w.transpose()).addiRowVector(mu);
                    } else {
                        o = m.subiRowVector(mu).mmul(w);
                        if (whiten) {
                            o.diviRowVector(sd);
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        res[i] = o.getRow(i).toDoubleVector();
                    }
                }
                for (int i = 0; i < batch.size(); i++) {
                    outRows.add(BatchIterator.append(batch.get(i), nIn, slot[i] < 0 ? null : Vectors.dense(res[slot[i]])));
                }
                return outRows;
            });
        }
    }

    @Override
    public ImagePCAModel copy(ParamMap extra) {
        ImagePCAModel m = new ImagePCAModel(uid, mean, components, variance, ratio, numRows);
        return copyValues(m, extra).setParent(parent());
    }

    // ---- persistence: metadata/ (params), data/pca.bin (mean, variances, ratios, n, components)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(ImagePCAModel.this, path, spark.sparkContext());
                double[][] arrays = new double[4 + components.length][];
                arrays[0] = mean;
                arrays[1] = variance;
                arrays[2] = ratio;
                arrays[3] = new double[]{numRows};
                System.arraycopy(components, 0, arrays, 4, components.length);
                HadoopFiles.writeArrays(path + "/data/pca.bin", spark.sparkContext().hadoopConfiguration(), arrays);
            }
        };
    }

    public static MLReader<ImagePCAModel> read() {
        return new MLReader<>() {
            @Override
            public ImagePCAModel load(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                        ImagePCAModel.class);
                String file = path + "/data/pca.bin";
                double[][] a = HadoopFiles.readArrays(file, spark.sparkContext().hadoopConfiguration());
                HadoopFiles.require(a.length >= 5 && a[3].length == 1 && a[1].length == a.length - 4
                        && a[2].length == a[1].length && a[0].length > 0
                        && java.util.Arrays.stream(a, 4, a.length).allMatch(c -> c.length == a[0].length), file,
                        "mean, k variances, k ratios, [rows] and k components as long as the mean");
                double[][] comps = java.util.Arrays.copyOfRange(a, 4, a.length);
                ImagePCAModel m = new ImagePCAModel(meta.uid(), a[0], comps, a[1], a[2], (long) a[3][0]);
                meta.applyParams(m);
                return m;
            }
        };
    }

    public static ImagePCAModel load(String path) {
        return read().load(path);
    }
}
