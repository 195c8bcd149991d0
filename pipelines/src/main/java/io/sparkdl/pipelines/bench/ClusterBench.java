package io.sparkdl.pipelines.bench;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.eval.ClusteringMetrics;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.pipelines.Idx;
import org.apache.spark.ml.feature.PCA;
import org.apache.spark.ml.feature.PCAModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.mllib.clustering.KMeans;
import org.apache.spark.mllib.clustering.KMeansModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * PCA and k-means benchmark for scripts/bench-unsupervised, spark-dl side by side with Spark MLlib 3.5 on the
 * same cached data in the same session:
 * <ol>
 *   <li>Fashion-MNIST 60k x 784 (pixels / 255), PCA k=50: time and explained variance of both.</li>
 *   <li>k-means k=10 from the same initial centres (k rows drawn with a seed), 20 iterations each
 *       (tolerance 0): time and inertia of both (inertia of the final centres, computed by one function).</li>
 *   <li>NMI against the labels for k-means on pixels, on PCA-50 scores, and on CNN embeddings when a
 *       model directory is given.</li>
 *   <li>2,000 synthetic 224x224x3 images (d = 150,528), PCA k=20: spark-dl, then MLlib on the same images
 *       (its time, or its failure).</li>
 * </ol>
 * Args: FASHION_DIR MASTER [MODEL_DIR|-] [WIDE_IMAGES (default 2000; 0 skips)] [--wide-only];
 * {@code -Dbench.mllibPartitions=N} coalesces MLlib's k-means input to N partitions.
 * Prints "key=value" result lines.
 */
public final class ClusterBench {
    private ClusterBench() {
    }

    public static void main(String[] args) throws Exception {
        String dir = args[0];
        SparkSession spark = SparkSession.builder().master(args[1]).appName("spark-dl bench-unsupervised")
                .config("spark.ui.enabled", "false")
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .config("spark.kryo.registrator", "io.sparkdl.io.Nd4jKryoRegistrator")
                .config("spark.plugins", "io.sparkdl.backend.Nd4jPlugin").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        String modelDir = args.length > 2 && !args[2].equals("-") ? args[2] : null;
        int wide = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        boolean wideOnly = args.length > 4 && args[4].equals("--wide-only");
        try {
            if (wideOnly) {
                widePca(spark, wide);
                return;
            }
            Idx.Images im = Idx.readImages(new File(dir, "train-images-idx3-ubyte.gz"));
            byte[] lab = Idx.readLabels(new File(dir, "train-labels-idx1-ubyte.gz"));
            List<Row> rows = new ArrayList<>(im.pixels().length);
            for (int i = 0; i < im.pixels().length; i++) {
                double[] v = new double[im.pixels()[i].length];
                for (int p = 0; p < v.length; p++) {
                    v[p] = (im.pixels()[i][p] & 0xff) / 255.0;
                }
                rows.add(RowFactory.create(i, (int) lab[i], Vectors.dense(v),
                        ImageStruct.toRow("idx:" + i, new ImageCodec.Pixels(im.rows(), im.cols(), 1, im.pixels()[i]))));
            }
            StructType schema = new StructType().add("id", "int").add("label", "int")
                    .add("features", SQLDataTypes.VectorType()).add("image", ImageStruct.schema());
            Dataset<Row> data = spark.createDataFrame(rows, schema).repartition(4)
                    .persist(StorageLevel.MEMORY_AND_DISK());
            rows = null;
            long n = data.count();
            System.out.println("rows=" + n + " cols=784 partitions=4");

            // ---- PCA, k = 50
            long t = System.nanoTime();
            PCAModel mllibPca = new PCA().setInputCol("features").setOutputCol("mllibPca").setK(50).fit(data);
            double mllibPcaS = secs(t);
            t = System.nanoTime();
            ImagePCAModel ours = new ImagePCA().setInputCol("features").setOutputCol("pca").setK(50).setSeed(1)
                    .fit(data);
            double oursPcaS = secs(t);
            double[] a = mllibPca.explainedVariance().toArray();
            double[] b = ours.explainedVarianceRatio().toArray();
            double maxDiff = 0;
            for (int j = 0; j < 50; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
            }
            System.out.printf("pca_mllib_seconds=%.2f pca_sparkdl_seconds=%.2f pca_time_ratio=%.3f "
                            + "explained_mllib=%.6f explained_sparkdl=%.6f explained_total_diff=%.2e "
                            + "explained_max_component_diff=%.2e%n", mllibPcaS, oursPcaS, oursPcaS / mllibPcaS,
                    sum(a), sum(b), Math.abs(sum(a) - sum(b)), maxDiff);

            // ---- k-means, k = 10, same start, 20 iterations
            List<Row> start = data.orderBy(org.apache.spark.sql.functions.rand(7)).limit(10).select("features")
                    .collectAsList();
            double[][] init = new double[10][];
            org.apache.spark.mllib.linalg.Vector[] mInit = new org.apache.spark.mllib.linalg.Vector[10];
            for (int c = 0; c < 10; c++) {
                init[c] = ((Vector) start.get(c).get(0)).toArray();
                mInit[c] = org.apache.spark.mllib.linalg.Vectors.dense(init[c]);
            }
            // Both start from the same cached DataFrame: MLlib's conversion to its vectors is timed as ours
            // to blocks is (MLlib caches its own converted copy, as ImageKMeans caches its blocks).
            t = System.nanoTime();
            // -Dbench.mllibPartitions=N gives MLlib its input in N partitions (ImageKMeans caches one per core)
            var mllibRows = data.select("features").toJavaRDD();
            int mllibParts = Integer.getInteger("bench.mllibPartitions", 0);
            if (mllibParts > 0) {
                mllibRows = mllibRows.coalesce(mllibParts);
            }
            var mllibRdd = mllibRows.map(r -> org.apache.spark.mllib.linalg.Vectors.fromML((Vector) r.get(0))).rdd();
            KMeansModel mk = new KMeans().setK(10).setMaxIterations(20).setEpsilon(0)
                    .setInitialModel(new KMeansModel(mInit)).run(mllibRdd);
            double mllibKmS = secs(t);
            t = System.nanoTime();
            ImageKMeansModel ok = new ImageKMeans().setFeaturesCol("features").setK(10).setMaxIter(20).setTol(0)
                    .setInitialCenters(init).fit(data);
            double oursKmS = secs(t);
            double mllibInertia = mk.computeCost(mllibRdd);   // sum of squared distances to MLlib's final centres
            System.out.printf("kmeans_mllib_seconds=%.2f kmeans_sparkdl_seconds=%.2f kmeans_speedup=%.2f "
                            + "inertia_mllib=%.6g inertia_sparkdl=%.6g inertia_rel_diff=%.2e%n", mllibKmS, oursKmS,
                    mllibKmS / oursKmS, mllibInertia, ok.trainingCost(),
                    Math.abs(ok.trainingCost() - mllibInertia) / mllibInertia);

            // ---- clustering quality against the labels (k-means++ from seed 42)
            double nmiPixels = nmi(new ImageKMeans().setFeaturesCol("features").setK(10).fit(data).transform(data));
            Dataset<Row> withPca = ours.transform(data);
            double nmiPca = nmi(new ImageKMeans().setFeaturesCol("pca").setK(10).fit(withPca).transform(withPca));
            String nmiCnn = "n/a (no model given)";
            if (modelDir != null) {
                CnnClassifierModel cnn = CnnClassifierModel.load(modelDir);
                Dataset<Row> emb = new CnnFeaturizer(cnn).setOutputCol("embedding").transform(data)
                        .persist(StorageLevel.MEMORY_AND_DISK());
                nmiCnn = String.format("%.4f", nmi(new ImageKMeans().setFeaturesCol("embedding").setK(10).fit(emb)
                        .transform(emb)));
                // "CNN features into another classifier": LR on the embeddings, scored on the test set
                Dataset<Row> test = idxFrame(spark, dir, "t10k");
                Dataset<Row> embTest = new CnnFeaturizer(cnn).setOutputCol("embedding").transform(test);
                t = System.nanoTime();
                var lr = new org.apache.spark.ml.classification.LogisticRegression().setFeaturesCol("embedding")
                        .setLabelCol("y").setMaxIter(100).setRegParam(1e-4)
                        .fit(emb.withColumn("y", org.apache.spark.sql.functions.col("label").cast("double")));
                double lrS = secs(t);
                Dataset<Row> scored = lr.transform(embTest.withColumn("y",
                        org.apache.spark.sql.functions.col("label").cast("double")));
                double lrAcc = (double) scored.where("prediction = y").count() / scored.count();
                Dataset<Row> cnnOut = cnn.transform(test);
                // the model's class names are the folder names; compare through the index (sorted names)
                String[] names = cnn.labels();
                long right = cnnOut.select("label", "prediction").collectAsList().stream()
                        .filter(r -> names[(int) r.getDouble(1)].equals(FASHION[r.getInt(0)])).count();
                System.out.printf("cnn_test_accuracy=%.4f lr_on_embeddings_test_accuracy=%.4f lr_fit_seconds=%.1f%n",
                        (double) right / cnnOut.count(), lrAcc, lrS);
                emb.unpersist();
            }
            System.out.printf("nmi_pixels=%.4f nmi_pca50=%.4f nmi_cnn_embeddings=%s%n", nmiPixels, nmiPca, nmiCnn);
            data.unpersist();

            // ---- wide images: 224 x 224 x 3, PCA k = 20
            if (wide > 0) {
                widePca(spark, wide);
            }
        } finally {
            spark.stop();
        }
    }

    private static void widePca(SparkSession spark, int count) {
        int h = 224;
        int w = 224;
        StructType schema = new StructType().add("id", "long").add("image", ImageStruct.schema());
        // Smooth random images: a few random colour gradients and blobs per image, plus noise (made on executors).
        Dataset<Row> imgs = spark.range(0, count, 1, 8).map((org.apache.spark.api.java.function.MapFunction<Long, Row>)
                id -> {
                    Random r = new Random(id * 31 + 7);
                    byte[] px = new byte[h * w * 3];
                    double[] f = new double[6];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = r.nextGaussian();
                    }
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            for (int c = 0; c < 3; c++) {
                                double v = 128 + 40 * f[c] * Math.sin((x + 17 * c) / 30.0)
                                        + 40 * f[3 + c] * Math.cos(y / 25.0) + 20 * r.nextGaussian();
                                px[(y * w + x) * 3 + c] = (byte) Math.max(0, Math.min(255, (int) v));
                            }
                        }
                    }
                    return RowFactory.create(id, ImageStruct.toRow("synthetic:" + id, new ImageCodec.Pixels(h, w, 3, px)));
                }, Encoders.row(schema));
        long t = System.nanoTime();
        ImagePCAModel m = new ImagePCA().setInputCol("image").setK(20).setSeed(3).fit(imgs);
        double s = secs(t);
        System.out.printf("wide_images=%d wide_cols=%d wide_pca_sparkdl_seconds=%.1f wide_explained=%.4f "
                + "max_heap_mb=%d%n", count, h * w * 3, s, sum(m.explainedVarianceRatio().toArray()),
                Runtime.getRuntime().maxMemory() >> 20);
        try {
            Dataset<Row> vec = imgs.map((org.apache.spark.api.java.function.MapFunction<Row, Row>) r -> {
                byte[] px = (byte[]) r.getStruct(1).get(5);
                double[] v = new double[px.length];
                for (int i = 0; i < px.length; i++) {
                    v[i] = (px[i] & 0xff) / 255.0;
                }
                return RowFactory.create(Vectors.dense(v));
            }, Encoders.row(new StructType().add("features", SQLDataTypes.VectorType())));
            long tm = System.nanoTime();
            PCAModel mm = new PCA().setInputCol("features").setK(20).fit(vec);
            System.out.printf("wide_mllib=completed wide_pca_mllib_seconds=%.1f wide_explained_mllib=%.4f%n", secs(tm),
                    sum(mm.explainedVariance().toArray()));
        } catch (Throwable e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            System.out.println("wide_mllib=refused: " + root.getClass().getSimpleName() + ": "
                    + String.valueOf(root.getMessage()).replace('\n', ' '));
        }
    }

    /** Fashion-MNIST's class names by label index (the folder names export-idx writes). */
    static final String[] FASHION = io.sparkdl.pipelines.ExportIdx.FASHION;

    /** An IDX pair (PREFIX-images/labels-idx*-ubyte.gz) as id, label, image struct rows. */
    static Dataset<Row> idxFrame(SparkSession spark, String dir, String prefix) throws java.io.IOException {
        Idx.Images im = Idx.readImages(new File(dir, prefix + "-images-idx3-ubyte.gz"));
        byte[] lab = Idx.readLabels(new File(dir, prefix + "-labels-idx1-ubyte.gz"));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lab.length; i++) {
            rows.add(RowFactory.create(i, (int) lab[i],
                    ImageStruct.toRow("idx:" + i, new ImageCodec.Pixels(im.rows(), im.cols(), 1, im.pixels()[i]))));
        }
        return spark.createDataFrame(rows, new StructType().add("id", "int").add("label", "int")
                .add("image", ImageStruct.schema())).repartition(4);
    }

    private static double nmi(Dataset<Row> clustered) {
        return ClusteringMetrics.nmi(clustered, "cluster", "label");
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
