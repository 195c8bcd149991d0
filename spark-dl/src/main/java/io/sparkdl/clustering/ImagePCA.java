package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.DenseLinAlg;
import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
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
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;

/**
 * Principal component analysis for wide image data, distributed: randomized subspace iteration on the
 * covariance, never forming it. Each pass multiplies the centred data blocks by a d x l basis (ND4J
 * matrix products on the executors) and sums {@code X^T (X Q)} with a tree aggregation, so the driver
 * holds d x l numbers, not d x d: 224x224 RGB images (d = 150,528) work where MLlib's PCA (which builds
 * the d x d covariance on the driver and stops at 65,535 columns) refuses. After {@code powerIterations}
 * passes, a Rayleigh-Ritz step on the l-dimensional subspace (l = k + oversampling) gives the components
 * and their variances; it reuses the last pass's product. Passes: one for the mean (which also packs the
 * rows into cached float blocks), then {@code powerIterations}.
 */
public class ImagePCA extends Estimator<ImagePCAModel> implements ImagePCAParams<ImagePCA>, HasSeed<ImagePCA>,
        MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(ImagePCA.class);

    private final String uid;
    private final DeclaredParams declared;
    final IntParam k;
    final IntParam oversampling;
    final IntParam powerIterations;

    public ImagePCA() {
        this(Identifiable$.MODULE$.randomUID("imagePCA"));
    }

    public ImagePCA(String uid) {
        this.uid = uid;
        declared = ImagePCAParams.declare(this);
        HasSeed.declare(declared, "Seed of the random starting basis.");
        k = new IntParam(this, "k", "Number of principal components (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        oversampling = new IntParam(this, "oversampling", "Extra basis vectors beyond k (>= 0); more is more exact.",
                SharedParams.<Object>validator(v -> (Integer) v >= 0));
        powerIterations = new IntParam(this, "powerIterations",
                "Data passes after the mean (>= 1): the last gives the Rayleigh-Ritz step; more is more exact.",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        setDefault(k, 50);
        setDefault(oversampling, 20);
        setDefault(powerIterations, 4);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public IntParam k() { return k; }
    public IntParam oversampling() { return oversampling; }
    public IntParam powerIterations() { return powerIterations; }

    public int getK() { return (Integer) $(k); }
    public int getOversampling() { return (Integer) $(oversampling); }
    public int getPowerIterations() { return (Integer) $(powerIterations); }

    public ImagePCA setK(int v) { set(k, v); return this; }
    public ImagePCA setCentering(boolean v) { set(centering(), v); return this; }
    public ImagePCA setOversampling(int v) { set(oversampling, v); return this; }
    public ImagePCA setPowerIterations(int v) { set(powerIterations, v); return this; }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public ImagePCAModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Nd4jBackend.init();
        Dataset<Row> df = dataset.toDF();
        int d = RowBlocks.width(df, getInputCol());
        int kk = getK();
        if (kk > d) {
            throw new IllegalArgumentException("k = " + kk + " is more than the " + d + " values per row of '"
                    + getInputCol() + "'");
        }
        int l = Math.min(d, kk + getOversampling());
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext());
        JavaRDD<RowBlocks.Block> blocks = RowBlocks.blocks(df, getInputCol(), d)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long t0 = System.nanoTime();
            sc.setJobDescription("spark-dl ImagePCA: mean");
            Moments mom = blocks.treeAggregate(new Moments(d), Moments::add, Moments::merge, 2);
            if (mom.n < 2) {
                throw new IllegalArgumentException("PCA needs at least 2 non-null rows in '" + getInputCol()
                        + "', got " + mom.n);
            }
            double[] mean = new double[d];
            double meanSq = 0;
            if (getCentering()) {
                for (int i = 0; i < d; i++) {
                    mean[i] = mom.sum[i] / mom.n;
                    meanSq += mean[i] * mean[i];
                }
            }
            double totalVariance = (mom.sumSq - mom.n * meanSq) / (mom.n - 1);
            float[] meanF = new float[d];
            for (int i = 0; i < d; i++) {
                meanF[i] = (float) mean[i];
            }
            Broadcast<float[]> bMean = sc.broadcast(meanF);
            double[][] q = DenseLinAlg.orthonormalize(DenseLinAlg.gaussian(d, l, getSeed()), getSeed());
            double[][] b = null;
            for (int it = 0; it < getPowerIterations(); it++) {
                sc.setJobDescription("spark-dl ImagePCA: subspace iteration " + (it + 1) + "/" + getPowerIterations());
                long tp = System.nanoTime();
                b = covTimes(blocks, bMean, q, sc);
                LOG.info("ImagePCA {}: pass {}/{} in {} s", uid, it + 2, getPowerIterations() + 1,
                        String.format("%.2f", (System.nanoTime() - tp) / 1e9));
                if (it < getPowerIterations() - 1) {
                    q = DenseLinAlg.orthonormalize(b, getSeed() + it + 1);
                }
            }
            // Rayleigh-Ritz on the last basis, with the product of the last pass: Q^T C Q = Q^T B
            DenseLinAlg.Eigen eig = DenseLinAlg.symmetricEigen(DenseLinAlg.gram(q, b));
            double[][] components = new double[kk][d];
            double[] variance = new double[kk];
            double[] ratio = new double[kk];
            for (int j = 0; j < kk; j++) {
                double[] v = eig.vectors()[j];
                for (int c = 0; c < l; c++) {
                    if (v[c] != 0) {
                        for (int i = 0; i < d; i++) {
                            components[j][i] += q[c][i] * v[c];
                        }
                    }
                }
                // sign convention: the largest entry of each axis is positive (reproducible across runs)
                int big = 0;
                for (int i = 1; i < d; i++) {
                    if (Math.abs(components[j][i]) > Math.abs(components[j][big])) {
                        big = i;
                    }
                }
                if (components[j][big] < 0) {
                    for (int i = 0; i < d; i++) {
                        components[j][i] = -components[j][i];
                    }
                }
                variance[j] = Math.max(0, eig.values()[j]) / (mom.n - 1);
                ratio[j] = totalVariance > 0 ? variance[j] / totalVariance : 0;
            }
            bMean.destroy();
            double secs = (System.nanoTime() - t0) / 1e9;
            double explained = java.util.Arrays.stream(ratio).sum();
            LOG.info("ImagePCA {}: {} rows x {} values, k {} (basis {}), {} passes, explained variance {} in {} s",
                    uid, mom.n, d, kk, l, getPowerIterations() + 1, String.format("%.4f", explained),
                    String.format("%.1f", secs));
            ImagePCAModel model = new ImagePCAModel(uid, mean, components, variance, ratio, mom.n);
            return copyValues(model, ParamMap.empty()).setParent(this);
        } finally {
            sc.setJobDescription(null);
            blocks.unpersist(false);
        }
    }

    /** {@code (X - mean)^T (X - mean) Q}, d x l column-major, one pass. */
    private static double[][] covTimes(JavaRDD<RowBlocks.Block> blocks, Broadcast<float[]> mean, double[][] q,
                                       JavaSparkContext sc) {
        int d = q[0].length;
        int l = q.length;
        Broadcast<float[]> bq = sc.broadcast(DenseLinAlg.toRowMajorFloats(q));
        try {
            // partial sums travel as floats (d x l, 24 MB for 224x224x3 images and l = 40); the zero value is
            // empty so that the closure does not carry a d x l array
            float[] acc = blocks.mapPartitions(it -> {
                INDArray qm = null;
                INDArray mu = null;
                INDArray sum = null;
                RowBlocks.Loader loader = new RowBlocks.Loader();
                while (it.hasNext()) {
                    RowBlocks.Block blk = it.next();
                    if (qm == null) {
                        qm = Nd4j.create(bq.value(), new long[]{d, l}, 'c');
                        mu = Nd4j.create(mean.value(), new long[]{1, d}, 'c');
                        sum = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, d, l);
                    }
                    INDArray x = loader.load(blk).subiRowVector(mu);
                    INDArray t = x.mmul(qm);                        // rows x l
                    sum.addi(x.transpose().mmul(t));              // d x l
                }
                float[] out = sum == null ? new float[0] : sum.data().asFloat();
                return java.util.List.of(out).iterator();
            }).treeAggregate(new float[0], ImagePCA::addInto, ImagePCA::addInto, 2);
            if (acc.length == 0) {
                throw new IllegalStateException("no data blocks to project");
            }
            double[][] cols = new double[l][d];
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < l; j++) {
                    cols[j][i] = acc[i * l + j];
                }
            }
            return cols;
        } finally {
            bq.destroy();
        }
    }

    private static float[] addInto(float[] acc, float[] v) {
        if (v.length == 0) {
            return acc;
        }
        if (acc.length == 0) {
            return v;
        }
        for (int i = 0; i < acc.length; i++) {
            acc[i] += v[i];
        }
        return acc;
    }

    /** Count, column sums and the sum of squares of all values. */
    static final class Moments implements Serializable {
        long n;
        double[] sum;
        double sumSq;

        Moments(int d) {
            sum = new double[d];
        }

        Moments add(RowBlocks.Block b) {
            float[] x = b.data();
            int d = b.cols();
            for (int r = 0; r < b.rows(); r++) {
                int o = r * d;
                for (int i = 0; i < d; i++) {
                    double v = x[o + i];
                    sum[i] += v;
                    sumSq += v * v;
                }
            }
            n += b.rows();
            return this;
        }

        Moments merge(Moments o) {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += o.sum[i];
            }
            n += o.n;
            sumSq += o.sumSq;
            return this;
        }
    }

    @Override
    public ImagePCA copy(ParamMap extra) {
        return (ImagePCA) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<ImagePCA> read() {
        return SparkMLInternals.paramsReader();
    }

    public static ImagePCA load(String path) {
        return read().load(path);
    }
}
