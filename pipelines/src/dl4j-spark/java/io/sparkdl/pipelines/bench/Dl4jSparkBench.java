package io.sparkdl.pipelines.bench;

import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.pipelines.Idx;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * deeplearning4j's own Spark training (dl4j-spark 1.0.0-M2, ParameterAveragingTrainingMaster) on the network
 * and settings of scripts/bench-train, for the side-by-side row in docs/BENCHMARKS.md: LeNet, batch 64 per
 * worker, Adam 1e-3, seed 42, averaging every 5 minibatches, Fashion-MNIST pixels / 255.
 *
 * <p>The minibatches are built on the executors from the IDX files (each task reads the file and keeps its
 * slice), not parallelized from the driver, and cached, so each epoch's time is dl4j-spark's: exporting the
 * batches (its default Export mode; the first epoch writes them, later epochs reuse them), fitting and
 * averaging. Test accuracy is computed on the driver.
 * Args: FASHION_DIR MASTER EPOCHS [AVERAGING_FREQUENCY]. Prints "key=value" lines.
 */
public final class Dl4jSparkBench {
    private static final int BATCH = 64;

    private Dl4jSparkBench() {
    }

    public static void main(String[] args) throws Exception {
        String dir = args[0];
        int epochs = Integer.parseInt(args[2]);
        int freq = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        SparkSession spark = SparkSession.builder().master(args[1]).appName("spark-dl bench-dl4j-spark")
                .config("spark.ui.enabled", "false").getOrCreate();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        try {
            int workers = sc.defaultParallelism();
            File trainImages = new File(dir, "train-images-idx3-ubyte.gz");
            File trainLabels = new File(dir, "train-labels-idx1-ubyte.gz");
            int n = Idx.readLabels(trainLabels).length;
            int batches = n / BATCH;
            List<Integer> ids = IntStream.range(0, batches).boxed().collect(Collectors.toList());
            String ti = trainImages.getAbsolutePath();
            String tl = trainLabels.getAbsolutePath();
            JavaRDD<DataSet> train = sc.parallelize(ids, workers).mapPartitions(it -> {
                Idx.Images im = Idx.readImages(new File(ti));
                byte[] lab = Idx.readLabels(new File(tl));
                List<DataSet> out = new ArrayList<>();
                while (it.hasNext()) {
                    int b = it.next();
                    out.add(new DataSet(IdxBatches.features(im, null, b * BATCH, BATCH),
                            IdxBatches.oneHot(lab, null, b * BATCH, BATCH, 10)));
                }
                return out.iterator();
            }).persist(StorageLevel.MEMORY_ONLY());
            long count = train.count();

            MultiLayerConfiguration conf = NetworkSpec.parse("lenet").toConfiguration(28, 28, 1, 10,
                    new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 42));
            ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(BATCH)
                    .batchSizePerWorker(BATCH).averagingFrequency(freq).workerPrefetchNumBatches(2).build();
            SparkDl4jMultiLayer net = new SparkDl4jMultiLayer(sc, conf, tm);
            System.out.printf("dl4j_spark_workers=%d batches=%d averaging_frequency=%d%n", workers, count, freq);
            Idx.Images testIm = Idx.readImages(new File(dir, "t10k-images-idx3-ubyte.gz"));
            byte[] testLab = Idx.readLabels(new File(dir, "t10k-labels-idx1-ubyte.gz"));
            for (int e = 1; e <= epochs; e++) {
                long t = System.nanoTime();
                net.fit(train);
                double s = (System.nanoTime() - t) / 1e9;
                double acc = IdxBatches.accuracy(net.getNetwork(), testIm, testLab);
                System.out.printf("dl4j_spark_epoch=%d seconds=%.1f images_per_second=%.0f test_accuracy=%.4f%n",
                        e, s, count * BATCH / s, acc);
            }
            // the exported batch files are reused by later epochs of the same RDD; removed at the end
            tm.deleteTempFiles(sc);
        } finally {
            spark.stop();
        }
    }
}
