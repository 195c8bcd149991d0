package io.sparkdl.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.image.ImageNormalizerModel;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.EpochStats;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.File;
import java.nio.file.Files;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Saved models of every kind that has data, with the outputs each gives on a fixed input, for the tests that
 * check models saved by a release still load ({@code LegacyModelsTest}). Run it when a release changes the
 * model layout, to freeze that release's layout as test data:
 * {@code mvn -pl spark-dl -Dtest=ModelFixtures -Dsparkdl.fixturesOut=src/test/resources/legacy-models/VERSION test}.
 *
 * <p>The fixed input is the first image of each class of test-data; {@link #outputs} is what the loading test
 * compares against, so both use the same columns.
 */
public final class ModelFixtures {
    /** The network of the saved classifiers: a LeNet shape small enough to keep the test data at a few KiB. */
    static final String TINY_LENET = """
            {"layers": [
              {"type": "conv", "filters": 3, "kernel": 5, "activation": "relu"},
              {"type": "maxpool", "kernel": 2, "stride": 2},
              {"type": "conv", "filters": 4, "kernel": 5, "activation": "relu"},
              {"type": "maxpool", "kernel": 2, "stride": 2},
              {"type": "dense", "units": 8, "activation": "relu"},
              {"type": "output"}
            ]}""";
    /** Saved model folders and the columns of theirs that {@link #outputs} records. */
    static final List<List<String>> MODELS = List.of(
            List.of("classifier", "probability", "rawPrediction", "prediction", "predictedLabel"),
            List.of("normalizer", "z"),
            List.of("pca", "scores"),
            List.of("kmeans", "cluster", "distance"),
            List.of("ensemble", "probability", "prediction", "predictedLabel"),
            List.of("pipeline", "probability", "prediction", "predictedLabel"));
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The first image of each class, as files (for the pipeline). */
    static Dataset<Row> inputFiles(SparkSession spark) {
        Dataset<Row> files = ImageSources.readFolder(spark, SparkTest.fashionSmall());
        return files.withColumn("rn", org.apache.spark.sql.functions.row_number().over(
                        org.apache.spark.sql.expressions.Window.partitionBy("label").orderBy("path")))
                .where(col("rn").equalTo(1)).drop("rn");
    }

    /** The first image of each class, decoded to 28x28 gray (the other models' input). */
    static Dataset<Row> inputImages(SparkSession spark) {
        return Fuzzers.smallDecoded(spark, 1);
    }

    /** The input the saved model {@code name} takes. */
    static Dataset<Row> input(SparkSession spark, String name) {
        return name.equals("pipeline") ? inputFiles(spark) : inputImages(spark);
    }

    /**
     * What {@code model} gives on its input: per image (keyed by class folder and file name) each recorded
     * column, vectors as arrays.
     */
    static ObjectNode outputs(Transformer model, String name) {
        List<String> entry = MODELS.stream().filter(m -> m.get(0).equals(name)).findFirst().orElseThrow();
        List<String> cols = entry.subList(1, entry.size());
        ObjectNode out = JSON.createObjectNode();
        for (Row r : model.transform(input(SparkTest.spark(), name)).collectAsList()) {
            String path = r.getString(r.fieldIndex("path"));
            File f = new File(path.replaceFirst("^file:", ""));
            ObjectNode o = out.putObject(f.getParentFile().getName() + "/" + f.getName());
            for (String c : cols) {
                Object v = r.get(r.fieldIndex(c));
                if (v instanceof Vector vec) {
                    ArrayNode a = o.putArray(c);
                    for (double d : vec.toArray()) {
                        a.add(d);
                    }
                } else if (v instanceof Number n) {
                    o.put(c, n.doubleValue());
                } else {
                    o.put(c, String.valueOf(v));
                }
            }
        }
        return out;
    }

    /** The training history a classifier was saved with, one object per epoch. */
    static ArrayNode history(CnnClassifierModel m) {
        ArrayNode h = JSON.createArrayNode();
        for (EpochStats e : m.summary().history()) {
            h.addObject().put("epoch", e.epoch()).put("loss", e.loss()).put("trainAccuracy", e.trainAccuracy())
                    .put("validationAccuracy", Double.isNaN(e.validationAccuracy()) ? null
                            : (Double) e.validationAccuracy())
                    .put("imagesPerSecond", e.imagesPerSecond()).put("seconds", e.seconds());
        }
        return h;
    }

    @Test
    @EnabledIfSystemProperty(named = "sparkdl.fixturesOut", matches = ".+")
    void write() throws Exception {
        File dir = new File(System.getProperty("sparkdl.fixturesOut")).getAbsoluteFile();
        SparkSession spark = SparkTest.spark();
        Dataset<Row> train = Fuzzers.smallDecoded(spark, 4).cache();
        ImageNormalizerModel normalizer = new ImageNormalizer().setInputCol("image").setOutputCol("z").fit(train);
        CnnClassifierModel classifier = new CnnClassifier().setArch(TINY_LENET).setEpochs(2).setBatchSize(8)
                .setSeed(5).setNumWorkers(1).setValidationFraction(0.25).fit(normalizer.transform(train));
        ImagePCAModel pca = new ImagePCA().setInputCol("image").setOutputCol("scores").setK(3).setSeed(5)
                .fit(train);
        ImageKMeansModel kmeans = new ImageKMeans().setFeaturesCol("image").setK(3).setMaxIter(4).setSeed(5)
                .setPredictionCol("cluster").setDistanceCol("distance").fit(train);
        EnsembleClassifierModel ensemble = new EnsembleClassifier().setArchs(TINY_LENET).setNumMembers(2)
                .setEpochs(1).setBatchSize(8).setNumWorkers(1).setCombination("weighted").setValidationFraction(0.3)
                .setSeed(5).fit(train);
        Dataset<Row> files = ImageSources.readFolder(spark, SparkTest.fashionSmall()).withColumn("rn",
                        org.apache.spark.sql.functions.row_number().over(org.apache.spark.sql.expressions.Window
                                .partitionBy("label").orderBy("path")))
                .where(col("rn").leq(4)).drop("rn");
        PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[]{
                new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip"),
                new ImageNormalizer().setInputCol("image"),
                new CnnClassifier().setArch(TINY_LENET).setEpochs(1).setBatchSize(8).setSeed(5).setNumWorkers(1)})
                .fit(files);
        Transformer[] models = {classifier, normalizer, pca, kmeans, ensemble, pipeline};
        ObjectNode outputs = JSON.createObjectNode();
        for (int i = 0; i < models.length; i++) {
            String name = MODELS.get(i).get(0);
            ((org.apache.spark.ml.util.MLWritable) models[i]).write().overwrite().save(new File(dir, name).toString());
            outputs.set(name, outputs(models[i], name));
        }
        outputs.set("classifierHistory", history(classifier));
        Files.writeString(new File(dir, "outputs.json").toPath(), outputs.toPrettyString());
        removeChecksums(dir);
    }

    /** Hadoop's local file system leaves a .NAME.crc beside each file; test data does not need them. */
    private static void removeChecksums(File dir) {
        File[] files = dir.listFiles();
        if (files == null) {
            return;
        }
        for (File f : files) {
            if (f.isDirectory()) {
                removeChecksums(f);
            } else if (f.getName().endsWith(".crc")) {
                f.delete();
            }
        }
    }
}
