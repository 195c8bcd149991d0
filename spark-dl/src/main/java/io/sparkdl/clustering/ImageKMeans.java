package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Estimator;
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
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * k-means on image vectors with distances as matrix products: for a block X of rows and centres C,
 * {@code |x - c|^2 = |x|^2 - 2 X C^T + |c|^2} is one ND4J GEMM per block, and each Lloyd iteration is one
 * Spark pass that returns per-cluster sums, counts and sums of squared norms (from which the driver gets the
 * cost). Each cached block keeps its rows' clusters and Elkan's distance bounds between iterations
 * ({@link LloydBlock}), so an iteration computes distances only for rows that may change cluster: the same
 * result as Lloyd's algorithm, with far less work once most rows have settled (the bounds take k + 2 doubles
 * a row, so they are kept only while {@code k <= d}; otherwise every iteration computes all distances).
 * Initialisation is k-means++ (seeded), run distributed and exactly: each of the k picks is one pass in which every partition proposes one row
 * drawn in proportion to its squared distance to the chosen centres, and the driver picks among the
 * proposals in proportion to the partitions' total weights. {@link #setInitialCenters} starts from given
 * centres instead (to compare with another implementation from the same start).
 */
public class ImageKMeans extends Estimator<ImageKMeansModel> implements ImageKMeansParams<ImageKMeans>,
        HasSeed<ImageKMeans>, MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(ImageKMeans.class);

    private final String uid;
    private final DeclaredParams declared;
    final IntParam k;
    final IntParam maxIter;
    final DoubleParam tol;
    private double[][] initialCenters;

    public ImageKMeans() {
        this(Identifiable$.MODULE$.randomUID("imageKMeans"));
    }

    public ImageKMeans(String uid) {
        this.uid = uid;
        declared = ImageKMeansParams.declare(this);
        HasSeed.declare(declared, "Seed of the k-means++ initialisation.");
        k = new IntParam(this, "k", "Number of clusters (>= 2).", SharedParams.<Object>validator(v -> (Integer) v >= 2));
        maxIter = new IntParam(this, "maxIter", "Maximum Lloyd iterations (>= 1).",
                SharedParams.<Object>validator(v -> (Integer) v >= 1));
        tol = new DoubleParam(this, "tol", "Stop when no centre moves more than this distance (>= 0).",
                SharedParams.<Object>validator(v -> (Double) v >= 0));
        setDefault(k, 10);
        setDefault(maxIter, 20);
        setDefault(tol, 1e-4);
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
    public IntParam maxIter() { return maxIter; }
    public DoubleParam tol() { return tol; }

    public int getK() { return (Integer) $(k); }
    public int getMaxIter() { return (Integer) $(maxIter); }
    public double getTol() { return (Double) $(tol); }

    public ImageKMeans setK(int v) { set(k, v); return this; }
    public ImageKMeans setMaxIter(int v) { set(maxIter, v); return this; }
    public ImageKMeans setTol(double v) { set(tol, v); return this; }

    /** Start from these centres (k rows of d values) instead of k-means++; not saved with the estimator. */
    public ImageKMeans setInitialCenters(double[][] centers) {
        this.initialCenters = centers == null ? null : centers.clone();
        return this;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public ImageKMeansModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Nd4jBackend.init();
        Dataset<Row> df = dataset.toDF();
        int d = RowBlocks.width(df, getFeaturesCol());
        int kk = getK();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext());
        JavaRDD<RowBlocks.Block> packed = RowBlocks.blocks(df, getFeaturesCol(), d);
        if (packed.getNumPartitions() > sc.defaultParallelism()) {
            // one cached partition per core: every iteration is then one wave of tasks (no shuffle; on a
            // cluster, partitions on the same executor are merged)
            packed = packed.coalesce(sc.defaultParallelism());
        }
        JavaRDD<LloydBlock> blocks = packed.map(LloydBlock::new).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long t0 = System.nanoTime();
            double[][] centers;
            if (initialCenters != null) {
                if (initialCenters.length != kk || initialCenters[0].length != d) {
                    throw new IllegalArgumentException("initial centres must be " + kk + " x " + d + " but are "
                            + initialCenters.length + " x " + initialCenters[0].length);
                }
                centers = initialCenters.clone();
            } else {
                centers = kMeansPlusPlus(sc, blocks.map(b -> b.rows), kk, d, getSeed());
                kk = centers.length;
            }
            double initSeconds = (System.nanoTime() - t0) / 1e9;
            LloydBlock.Centers current = null;
            int it = 0;
            boolean converged = false;
            while (it < getMaxIter() && !converged) {
                sc.setJobDescription("spark-dl ImageKMeans: iteration " + (it + 1) + "/" + getMaxIter());
                current = new LloydBlock.Centers(it, centers, current);
                Step step = lloyd(sc, blocks, current);
                double maxMove = 0;
                double[][] next = new double[kk][];
                for (int c = 0; c < kk; c++) {
                    if (step.counts[c] == 0) {
                        next[c] = centers[c];    // an empty cluster keeps its centre
                        continue;
                    }
                    next[c] = new double[d];
                    double move = 0;
                    for (int i = 0; i < d; i++) {
                        next[c][i] = step.sums[c * d + i] / step.counts[c];
                        double diff = next[c][i] - centers[c][i];
                        move += diff * diff;
                    }
                    maxMove = Math.max(maxMove, move);
                }
                LOG.info("ImageKMeans {} iteration {}: cost {} (before the update), {} rows changed cluster, "
                                + "distances computed for {} of {} rows, largest centre move {}", uid, it + 1,
                        String.format("%.6g", step.cost(centers)), step.changed, step.computed, step.n,
                        String.format("%.3g", Math.sqrt(maxMove)));
                centers = next;
                it++;
                converged = maxMove <= getTol() * getTol();
            }
            sc.setJobDescription("spark-dl ImageKMeans: final cost");
            Step last = lloyd(sc, blocks, new LloydBlock.Centers(it, centers, current));
            double cost = last.cost(centers);
            double secs = (System.nanoTime() - t0) / 1e9;
            LOG.info("ImageKMeans {}: {} rows x {} values, k {}, {} iterations{}, cost {}, {} s (init {} s)", uid,
                    last.n, d, kk, it, converged ? " (converged)" : "", String.format("%.6g", cost),
                    String.format("%.1f", secs), String.format("%.1f", initSeconds));
            ImageKMeansModel model = new ImageKMeansModel(uid, centers, cost, last.counts, it);
            return copyValues(model, ParamMap.empty()).setParent(this);
        } finally {
            sc.setJobDescription(null);
            blocks.unpersist(false);
        }
    }

    /** Squared distances of a block's rows ({@code x}, loaded) to the centres: rows x k. */
    static INDArray sqDistances(RowBlocks.Block b, INDArray x, INDArray centersT, INDArray centerNorms) {
        INDArray xn = Nd4j.create(b.sqNorms(), new long[]{b.rows(), 1}, 'c');
        return x.mmul(centersT).muli(-2).addiColumnVector(xn).addiRowVector(centerNorms);
    }

    static INDArray[] centerArrays(float[] flat, int k, int d) {
        INDArray c = Nd4j.create(flat, new long[]{k, d}, 'c');
        return new INDArray[]{c.transpose().dup('c'), c.mul(c).sum(true, 1).reshape(1, k)};
    }

    static float[] flatten(double[][] centers) {
        int d = centers[0].length;
        float[] f = new float[centers.length * d];
        for (int c = 0; c < centers.length; c++) {
            for (int i = 0; i < d; i++) {
                f[c * d + i] = (float) centers[c][i];
            }
        }
        return f;
    }

    /** One pass: every block's state brought to the centres {@code c}, and the blocks' sums added up. */
    private static Step lloyd(JavaSparkContext sc, JavaRDD<LloydBlock> blocks, LloydBlock.Centers c) {
        Broadcast<LloydBlock.Centers> bc = sc.broadcast(c);
        try {
            return blocks.mapPartitions(itr -> {
                LloydBlock.Centers cs = bc.value();
                Step s = new Step(cs.k, cs.d);
                LloydBlock.Workspace w = null;
                while (itr.hasNext()) {
                    LloydBlock b = itr.next();
                    if (w == null) {
                        w = new LloydBlock.Workspace(cs);
                    }
                    b.update(cs, w);
                    b.addTo(s);
                }
                return List.of(s).iterator();
            }).treeAggregate(new Step(c.k, c.d), Step::merge, Step::merge, 2);
        } finally {
            bc.destroy();
        }
    }

    /** Exact k-means++ seeding in k passes (see the class comment). */
    private static double[][] kMeansPlusPlus(JavaSparkContext sc, JavaRDD<RowBlocks.Block> blocks, int k, int d,
                                             long seed) {
        List<double[]> chosen = new ArrayList<>();
        Random driver = new Random(seed);
        for (int pick = 0; pick < k; pick++) {
            sc.setJobDescription("spark-dl ImageKMeans: k-means++ centre " + (pick + 1) + "/" + k);
            final int p = pick;
            final int nc = chosen.size();
            Broadcast<float[]> bc = sc.broadcast(nc == 0 ? new float[0] : flatten(chosen.toArray(new double[0][])));
            List<Proposal> props;
            try {
                props = blocks.mapPartitionsWithIndex((part, itr) -> {
                    Random r = new Random(seed * 1_000_003L + p * 7919L + part);
                    INDArray[] ca = nc == 0 ? null : centerArrays(bc.value(), nc, d);
                    RowBlocks.Loader loader = new RowBlocks.Loader();
                    double total = 0;
                    float[] pickRow = null;
                    while (itr.hasNext()) {
                        RowBlocks.Block b = itr.next();
                        double[] w;
                        if (ca == null) {
                            w = new double[b.rows()];
                            java.util.Arrays.fill(w, 1.0);
                        } else {
                            w = sqDistances(b, loader.load(b), ca[0], ca[1]).min(1).toDoubleVector();
                        }
                        for (int row = 0; row < b.rows(); row++) {
                            double wr = Math.max(0, w[row]);
                            if (wr <= 0) {
                                continue;
                            }
                            total += wr;
                            // weighted reservoir of size one: keep this row with probability wr / total
                            if (r.nextDouble() * total < wr) {
                                pickRow = java.util.Arrays.copyOfRange(b.data(), row * d, (row + 1) * d);
                            }
                        }
                    }
                    return List.of(new Proposal(total, pickRow)).iterator();
                }, true).collect();
            } finally {
                bc.destroy();
            }
            double sum = props.stream().mapToDouble(Proposal::weight).sum();
            if (sum <= 0) {
                return capped(chosen, k);
            }
            double u = driver.nextDouble() * sum;
            Proposal take = null;
            for (Proposal pr : props) {
                if (pr.row() == null) {
                    continue;
                }
                take = pr;
                u -= pr.weight();
                if (u < 0) {
                    break;
                }
            }
            double[] c = new double[d];
            for (int i = 0; i < d; i++) {
                c[i] = take.row()[i];
            }
            if (chosen.stream().anyMatch(x -> java.util.Arrays.equals(x, c))) {
                // the remaining weight was float rounding of zero distances: every row is a centre already
                return capped(chosen, k);
            }
            chosen.add(c);
        }
        return chosen.toArray(new double[0][]);
    }

    /** Fewer distinct rows than k: as MLlib, fit the clusters there are (an empty cluster helps no one). */
    private static double[][] capped(List<double[]> chosen, int k) {
        LOG.warn("ImageKMeans: the data has only {} distinct rows, fewer than k = {}: fitting {} clusters",
                chosen.size(), k, chosen.size());
        return chosen.toArray(new double[0][]);
    }

    record Proposal(double weight, float[] row) implements Serializable {
    }

    /**
     * One pass's per-cluster sums, counts and sums of squared norms; the rows that changed cluster, the rows
     * whose distances were computed, and all rows.
     */
    static final class Step implements Serializable {
        final double[] sums;
        final long[] counts;
        final double[] sqSums;
        long changed;
        long computed;
        long n;

        Step(int k, int d) {
            sums = new double[k * d];
            counts = new long[k];
            sqSums = new double[k];
        }

        Step merge(Step o) {
            for (int i = 0; i < sums.length; i++) {
                sums[i] += o.sums[i];
            }
            for (int i = 0; i < counts.length; i++) {
                counts[i] += o.counts[i];
                sqSums[i] += o.sqSums[i];
            }
            changed += o.changed;
            computed += o.computed;
            n += o.n;
            return this;
        }

        /**
         * The sum of squared distances of the rows to the centres of their clusters, from the sums:
         * {@code sum_c (sum_{x in c} |x|^2 - 2 S_c . c + n_c |c|^2)}.
         */
        double cost(double[][] centers) {
            int d = centers[0].length;
            double total = 0;
            for (int c = 0; c < centers.length; c++) {
                double dot = 0;
                double sq = 0;
                for (int i = 0; i < d; i++) {
                    dot += sums[c * d + i] * centers[c][i];
                    sq += centers[c][i] * centers[c][i];
                }
                total += Math.max(0, sqSums[c] - 2 * dot + counts[c] * sq);
            }
            return total;
        }
    }

    @Override
    public ImageKMeans copy(ParamMap extra) {
        ImageKMeans c = (ImageKMeans) defaultCopy(extra);
        c.initialCenters = initialCenters;
        return c;
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<ImageKMeans> read() {
        return SparkMLInternals.paramsReader();
    }

    public static ImageKMeans load(String path) {
        return read().load(path);
    }
}
