package io.sparkdl.testkit;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

import static org.apache.spark.sql.functions.col;

/** The registry: every spark-dl stage must be covered by one fuzzer here (SaveLoadKitTest checks). */
public final class Fuzzers {
    private Fuzzers() {
    }

    public static List<StageFuzzer> all() {
        return List.of(imageDecoder(), cnnClassifier());
    }

    /** The first {@code perClass} images of each class of test-data, decoded to 28x28 gray. */
    public static Dataset<Row> smallDecoded(SparkSession spark, int perClass) {
        Dataset<Row> files = ImageSources.readFolder(spark, SparkTest.fashionSmall());
        Dataset<Row> decoded = new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip")
                .transform(files).drop("content");
        return decoded.withColumn("rn", org.apache.spark.sql.functions.row_number().over(
                        org.apache.spark.sql.expressions.Window.partitionBy("label").orderBy("path")))
                .where(col("rn").leq(perClass)).drop("rn");
    }

    static StageFuzzer imageDecoder() {
        return new StageFuzzer() {
            public PipelineStage stage() {
                return new ImageDecoder().setSize(12, 10).setChannels(3).setOutputCol("pixels")
                        .setErrorCol("why");
            }

            public List<Class<? extends PipelineStage>> covers() {
                return List.of(ImageDecoder.class);
            }

            public Dataset<Row> data(SparkSession spark) {
                return ImageSources.readFolder(spark, SparkTest.fashionSmall()).orderBy("path").limit(30);
            }

            public List<String> outputColumns() {
                return List.of("pixels", "why");
            }

            public String keyColumn() {
                return "path";
            }
        };
    }

    static StageFuzzer cnnClassifier() {
        return new StageFuzzer() {
            public PipelineStage stage() {
                return new CnnClassifier().setEpochs(1).setBatchSize(16).setAveragingFrequency(2).setSeed(7)
                        .setLearningRate(2e-3).setPredictedLabelCol("name").setNumWorkers(2);
            }

            public List<Class<? extends PipelineStage>> covers() {
                return List.of(CnnClassifier.class, CnnClassifierModel.class);
            }

            public Dataset<Row> data(SparkSession spark) {
                return smallDecoded(spark, 8);
            }

            public List<String> outputColumns() {
                return List.of("rawPrediction", "probability", "prediction", "name");
            }

            public String keyColumn() {
                return "path";
            }
        };
    }
}
