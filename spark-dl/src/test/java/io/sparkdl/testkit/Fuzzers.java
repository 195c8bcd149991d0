package io.sparkdl.testkit;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.ensemble.ProbabilityAverager;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageAugmenter;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.image.ImageNormalizerModel;
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
        return List.of(imageDecoder(), cnnClassifier(), cnnClassifierTorch(), imagePca(), imageKMeans(), cnnFeaturizer(),
                probabilityAverager(), ensemble(), imageNormalizer(), imageAugmenter());
    }

    private static CnnClassifierModel tinyModel;

    /** A small LeNet trained for one epoch on 8 images per class (shared by tests that need a model). */
    public static synchronized CnnClassifierModel tinyModel() {
        if (tinyModel == null) {
            tinyModel = new CnnClassifier().setEpochs(1).setBatchSize(16).setSeed(3).setNumWorkers(1)
                    .fit(smallDecoded(SparkTest.spark(), 8));
        }
        return tinyModel;
    }

    private abstract static class Simple implements StageFuzzer {
        private final List<Class<? extends PipelineStage>> covers;
        private final List<String> outputs;

        Simple(List<Class<? extends PipelineStage>> covers, String... outputs) {
            this.covers = covers;
            this.outputs = List.of(outputs);
        }

        public List<Class<? extends PipelineStage>> covers() {
            return covers;
        }

        public Dataset<Row> data(SparkSession spark) {
            return smallDecoded(spark, 4);
        }

        public List<String> outputColumns() {
            return outputs;
        }

        public String keyColumn() {
            return "path";
        }
    }

    static StageFuzzer imagePca() {
        return new Simple(List.of(ImagePCA.class, ImagePCAModel.class), "scores") {
            public PipelineStage stage() {
                return new ImagePCA().setInputCol("image").setOutputCol("scores").setK(4).setOversampling(6)
                        .setPowerIterations(3).setSeed(5).setWhitening(true);
            }
        };
    }

    static StageFuzzer imageNormalizer() {
        return new Simple(List.of(ImageNormalizer.class, ImageNormalizerModel.class), "z") {
            public PipelineStage stage() {
                return new ImageNormalizer().setInputCol("image").setOutputCol("z").setChannels(3);
            }
        };
    }

    static StageFuzzer imageAugmenter() {
        return new Simple(List.of(ImageAugmenter.class), "aug") {
            public PipelineStage stage() {
                return new ImageAugmenter().setOutputCol("aug").setRotate(15).setTranslate(0.1).setFlip("horizontal")
                        .setShear(5).setStretch(0.1).setRescale(0.1).setBrightness(0.1).setContrast(0.2).setSeed(11);
            }
        };
    }

    static StageFuzzer imageKMeans() {
        return new Simple(List.of(ImageKMeans.class, ImageKMeansModel.class), "k", "dist") {
            public PipelineStage stage() {
                return new ImageKMeans().setFeaturesCol("image").setK(3).setMaxIter(5).setSeed(9)
                        .setPredictionCol("k").setDistanceCol("dist");
            }
        };
    }

    static StageFuzzer cnnFeaturizer() {
        return new Simple(List.of(CnnFeaturizer.class), "emb") {
            public PipelineStage stage() {
                return new CnnFeaturizer(tinyModel()).setOutputCol("emb").setLayer(3).setInferenceBatchSize(7);
            }
        };
    }

    static StageFuzzer probabilityAverager() {
        return new Simple(List.of(ProbabilityAverager.class), "p", "c", "name") {
            public PipelineStage stage() {
                return new ProbabilityAverager().setInputCols("p1", "p2", "p3").setCombination("vote")
                        .setWeights(1, 2, 1).setProbabilityCol("p").setPredictionCol("c")
                        .setPredictedLabelCol("name").setLabels("a", "b", "c");
            }

            public Dataset<Row> data(SparkSession spark) {
                java.util.Random r = new java.util.Random(1);
                List<Row> rows = new java.util.ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    Object[] v = new Object[4];
                    v[0] = "row" + i;
                    for (int j = 1; j < 4; j++) {
                        double a = r.nextDouble();
                        double b = r.nextDouble() * (1 - a);
                        v[j] = org.apache.spark.ml.linalg.Vectors.dense(a, b, 1 - a - b);
                    }
                    rows.add(org.apache.spark.sql.RowFactory.create(v));
                }
                org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                        .add("path", "string").add("p1", org.apache.spark.ml.linalg.SQLDataTypes.VectorType())
                        .add("p2", org.apache.spark.ml.linalg.SQLDataTypes.VectorType())
                        .add("p3", org.apache.spark.ml.linalg.SQLDataTypes.VectorType());
                return spark.createDataFrame(rows, schema);
            }
        };
    }

    static StageFuzzer ensemble() {
        return new Simple(List.of(EnsembleClassifier.class, EnsembleClassifierModel.class), "prob", "pred", "name") {
            public PipelineStage stage() {
                return new EnsembleClassifier().setNumMembers(2)
                        .setEstimator(new CnnClassifier().setEpochs(1).setBatchSize(16).setNumWorkers(1))
                        .setCombination("weighted").setValidationFraction(0.3).setSeed(11).setProbabilityCol("prob")
                        .setPredictionCol("pred").setPredictedLabelCol("name");
            }

            public Dataset<Row> data(SparkSession spark) {
                return smallDecoded(spark, 6);
            }
        };
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
                return new ImageDecoder().setSize(12, 10).setChannels(3).setMaxPixels(50_000_000L).setOutputCol("pixels")
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

    /** The classifier on engine torch: its model keeps the engine and predicts on libtorch after save/load. */
    static StageFuzzer cnnClassifierTorch() {
        StageFuzzer nd4j = cnnClassifier();
        return new StageFuzzer() {
            public PipelineStage stage() {
                return ((CnnClassifier) nd4j.stage()).setEngine("torch").setArch("bncnn");
            }

            public List<Class<? extends PipelineStage>> covers() {
                return nd4j.covers();
            }

            public Dataset<Row> data(SparkSession spark) {
                return nd4j.data(spark);
            }

            public List<String> outputColumns() {
                return nd4j.outputColumns();
            }

            public String keyColumn() {
                return nd4j.keyColumn();
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
                // normalised: the model must keep its normalisation through save/load
                Dataset<Row> d = smallDecoded(spark, 8);
                return new ImageNormalizer().fit(d).transform(d);
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
