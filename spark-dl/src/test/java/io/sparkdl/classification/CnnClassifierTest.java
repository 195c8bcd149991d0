package io.sparkdl.classification;

import io.sparkdl.param.HasInferenceBatchSize;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CnnClassifierTest {
    @TempDir
    Path tmp;

    /** test-data -> Pipeline(decoder, classifier) -> saved, reloaded -> identical predictions, accuracy >> chance. */
    @Test
    void endToEndFromFoldersToReloadedModel() throws Exception {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> files = ImageSources.readFolder(spark, SparkTest.fashionSmall());
        Dataset<Row>[] split = files.randomSplit(new double[]{0.8, 0.2}, 3);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[]{
                new ImageDecoder().setHandleInvalid("skip"),
                new CnnClassifier().setEpochs(6).setSeed(1).setValidationFraction(0.1)});
        PipelineModel model = pipeline.fit(split[0]);
        CnnClassifierModel cnn = (CnnClassifierModel) model.stages()[1];
        assertEquals(10, cnn.numClasses());
        assertArrayEquals(new int[]{28, 28, 1}, cnn.inputShape());
        assertEquals(6, cnn.summary().history().size());
        assertTrue(cnn.summary().history().get(5).loss() < cnn.summary().history().get(0).loss(), cnn.summary().toString());
        assertTrue(!Double.isNaN(cnn.summary().history().get(5).validationAccuracy()));

        Dataset<Row> pred = model.transform(split[1]).cache();
        Dataset<Row> indexed = new StringIndexer().setInputCol("label").setOutputCol("labelIndex")
                .setStringOrderType("alphabetAsc").fit(pred).transform(pred);
        double acc = new MulticlassClassificationEvaluator().setLabelCol("labelIndex").setMetricName("accuracy")
                .evaluate(indexed);
        assertTrue(acc > 0.5, "held-out accuracy " + acc + " (chance is 0.1)");
        long agree = pred.where(col("predictedLabel").equalTo(col("label"))).count();
        assertEquals(acc, (double) agree / pred.count(), 1e-9, "predictedLabel names match prediction indices");

        String dir = tmp.resolve("model").toString();
        model.write().overwrite().save(dir);
        PipelineModel back = PipelineModel.load(dir);
        List<Row> a = pred.select("path", "probability", "prediction").orderBy("path").collectAsList();
        List<Row> b = back.transform(split[1]).select("path", "probability", "prediction").orderBy("path")
                .collectAsList();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(((Vector) a.get(i).get(1)).toArray(), ((Vector) b.get(i).get(1)).toArray(), 0.0);
            assertEquals(a.get(i).getDouble(2), b.get(i).getDouble(2));
        }
        CnnClassifierModel reloaded = (CnnClassifierModel) back.stages()[1];
        assertEquals(cnn.summary().history(), reloaded.summary().history());
        assertArrayEquals(cnn.labels(), reloaded.labels());
        pred.unpersist();
    }

    @Test
    void numericLabelsAndResizingToTheArchInput() {
        SparkSession spark = SparkTest.spark();
        // decode at 32x32 colour; LeNet wants 28x28 gray: the classifier converts once
        Dataset<Row> data = new ImageDecoder().setSize(32, 32).setChannels(3).setHandleInvalid("skip")
                .transform(ImageSources.readFolder(spark, SparkTest.fashionSmall()))
                .where(col("label").isin("trouser", "bag"))
                .withColumn("y", org.apache.spark.sql.functions.when(col("label").equalTo("bag"), 1).otherwise(0));
        CnnClassifierModel m = new CnnClassifier().setLabelCol("y").setEpochs(3).setSeed(2).fit(data);
        assertArrayEquals(new String[]{"0", "1"}, m.labels());
        assertArrayEquals(new int[]{28, 28, 1}, m.inputShape());
        double acc = m.transform(data).where(col("prediction").equalTo(col("y"))).count() / (double) data.count();
        assertTrue(acc > 0.8, "trousers vs bags accuracy " + acc);
    }

    @Test
    void nullImagesGiveNullPredictionsAndAreSkippedInTraining() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = new ImageDecoder().transform(ImageSources.readFolder(spark, SparkTest.fashionSmall()))
                .where(col("label").isin("trouser", "bag"));
        Dataset<Row> withNull = data.union(data.limit(1).withColumn("image",
                lit(null).cast(data.schema().apply("image").dataType())));
        CnnClassifierModel m = new CnnClassifier().setEpochs(1).fit(withNull);
        assertEquals(1, m.summary().skippedRows());
        assertEquals(1, m.transform(withNull).where(col("prediction").isNull()).count());
    }

    @Test
    void badInputIsRejectedWithClearMessages() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = new ImageDecoder().transform(ImageSources.readFolder(spark, SparkTest.fashionSmall()));
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().fit(data.where(col("label").equalTo("bag"))));
        assertTrue(one.getMessage().contains("at least 2 classes") && one.getMessage().contains("bag"), one.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setFeaturesCol("path").fit(data));
        assertTrue(type.getMessage().contains("Column path must be of type image struct"), type.getMessage());
        assertTrue(type.getMessage().contains("but was string"), type.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setUpdater("rmsprop"));
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setEpochs(0));
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setLearningRate(-1));
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setArch("{\"layers\": []}"));
        IllegalArgumentException lbl = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setLabelCol("image").transformSchema(data.schema()));
        assertTrue(lbl.getMessage().contains("must be of type string or numeric"), lbl.getMessage());
        IllegalArgumentException exists = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setPredictionCol("label").transformSchema(data.schema()));
        assertTrue(exists.getMessage().contains("'label' already exists"), exists.getMessage());
        // DL4J drops l2 when weightDecay is set and libtorch would apply both: the two engines would differ
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setL2(1e-4).setWeightDecay(1e-4).transformSchema(data.schema()));
        assertTrue(both.getMessage().contains("l2") && both.getMessage().contains("weightDecay"), both.getMessage());
        new CnnClassifier().setL2(1e-4).transformSchema(data.schema());
        new CnnClassifier().setWeightDecay(1e-4).transformSchema(data.schema());
    }

    @Test
    void forwardPassesHoldAtMost32MiBOfFloatInput() {
        assertEquals(256, HasInferenceBatchSize.imagesPerForwardPass(256, new int[]{28, 28, 1}));
        assertEquals(256, HasInferenceBatchSize.imagesPerForwardPass(256, new int[]{104, 104, 3}));
        assertEquals(170, HasInferenceBatchSize.imagesPerForwardPass(256, new int[]{128, 128, 3}));
        assertEquals(55, HasInferenceBatchSize.imagesPerForwardPass(256, new int[]{224, 224, 3}), "32 MiB / 602,112 B");
        assertEquals(10, HasInferenceBatchSize.imagesPerForwardPass(10, new int[]{224, 224, 3}));
        assertEquals(1, HasInferenceBatchSize.imagesPerForwardPass(256, new int[]{4000, 3000, 3}), "never 0");
    }
}
