package io.sparkdl.pipelines.bench;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;

/**
 * Inference benchmark for scripts/bench-infer: reads and decodes a class-per-folder PNG set once
 * (timed and reported separately), then times {@code CnnClassifierModel.transform} over the cached
 * decoded images, REPEATS runs, reporting the median run (the first pays for the executors' network set-up).
 * Prints one line:
 * {@code spark-dl-infer images=... decode_images_per_second=... infer_images_per_second=... accuracy=...}
 *
 * <p>Args: DATA_DIR MODEL_DIR MASTER BATCH REPEATS [ENGINE] (ENGINE, nd4j or torch, sets the loaded model's
 * {@code engine} param: the engine it predicts on; without it the model's own)
 */
public final class InferBench {
    private InferBench() {
    }

    public static void main(String[] args) {
        String data = args[0];
        String modelDir = args[1];
        int batch = Integer.parseInt(args[3]);
        int repeats = Integer.parseInt(args[4]);
        SparkSession spark = SparkSession.builder().master(args[2]).appName("spark-dl bench-infer")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            CnnClassifierModel model = CnnClassifierModel.load(modelDir).setInferenceBatchSize(batch);
            if (args.length > 5) {
                model.setEngine(args[5]);
            }
            int[] s = model.inputShape();
            long t0 = System.nanoTime();
            Dataset<Row> decoded = new ImageDecoder().setSize(s[0], s[1]).setChannels(s[2]).setHandleInvalid("skip")
                    .transform(ImageSources.readFolder(spark, data)).drop("content")
                    .persist(StorageLevel.MEMORY_ONLY());
            long n = decoded.count();
            double decodeSeconds = (System.nanoTime() - t0) / 1e9;
            double[] seconds = new double[repeats];
            long correct = 0;
            for (int r = 0; r < repeats; r++) {
                long t1 = System.nanoTime();
                Row agg = model.transform(decoded)
                        .agg(count(col("prediction")), count(org.apache.spark.sql.functions.when(
                                col("predictedLabel").equalTo(col("label")), 1)))
                        .first();
                seconds[r] = (System.nanoTime() - t1) / 1e9;
                if (agg.getLong(0) != n) {
                    throw new IllegalStateException("predicted " + agg.getLong(0) + " of " + n + " images");
                }
                correct = agg.getLong(1);
            }
            java.util.Arrays.sort(seconds);
            double median = seconds[repeats / 2];
            System.out.printf("spark-dl-infer images=%d decode_images_per_second=%.1f infer_images_per_second=%.1f "
                    + "accuracy=%.4f batch=%d engine=%s%n", n, n / decodeSeconds, n / median, (double) correct / n, batch,
                    model.getEngine());
        } finally {
            spark.stop();
        }
    }
}
