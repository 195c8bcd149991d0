package io.sparkdl.pipelines.bench;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * Ensemble benchmark for scripts/bench-ensemble: an EnsembleClassifier of MEMBERS LeNets (seeds 42..,
 * EPOCHS epochs each, 2 workers, 10% validation split for the members' accuracies and the weights),
 * then each member and the ensemble (mean, vote, weighted) on the test folder. Prints "key=value" lines.
 * Args: TRAIN_DIR TEST_DIR MASTER MEMBERS EPOCHS
 */
public final class EnsembleBench {
    private EnsembleBench() {
    }

    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().master(args[2]).appName("spark-dl bench-ensemble")
                .config("spark.ui.enabled", "false")
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .config("spark.kryo.registrator", "io.sparkdl.io.Nd4jKryoRegistrator")
                .config("spark.plugins", "io.sparkdl.backend.Nd4jPlugin").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            ImageDecoder dec = new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip");
            Dataset<Row> train = dec.transform(ImageSources.readFolder(spark, args[0])).drop("content")
                    .persist(StorageLevel.MEMORY_AND_DISK());
            Dataset<Row> test = dec.transform(ImageSources.readFolder(spark, args[1])).drop("content")
                    .persist(StorageLevel.MEMORY_AND_DISK());
            System.out.println("train_images=" + train.count() + " test_images=" + test.count());
            long t0 = System.nanoTime();
            EnsembleClassifierModel m = new EnsembleClassifier().setNumMembers(Integer.parseInt(args[3]))
                    .setEpochs(Integer.parseInt(args[4])).setNumWorkers(2).setSeed(42).setValidationFraction(0.1)
                    .setCombination("weighted").fit(train);
            System.out.printf("fit_seconds=%.0f%n", (System.nanoTime() - t0) / 1e9);
            CnnClassifierModel[] ms = m.members();
            double best = 0;
            for (int i = 0; i < ms.length; i++) {
                double acc = ClassificationMetrics.compute(ms[i].transform(test), "label", "prediction",
                        ms[i].labels()).accuracy();
                best = Math.max(best, acc);
                System.out.printf("member=%d validation_accuracy=%.4f test_accuracy=%.4f weight=%.3f%n", i + 1,
                        m.validationAccuracies()[i], acc, m.weights()[i]);
            }
            for (String c : new String[]{"mean", "vote", "weighted"}) {
                double acc = ClassificationMetrics.compute(m.copy(org.apache.spark.ml.param.ParamMap.empty())
                        .setCombination(c).transform(test), "label", "prediction", m.labels()).accuracy();
                System.out.printf("ensemble=%s test_accuracy=%.4f gain_over_best_member=%+.2f points%n", c, acc,
                        100 * (acc - best));
            }
        } finally {
            spark.stop();
        }
    }
}
