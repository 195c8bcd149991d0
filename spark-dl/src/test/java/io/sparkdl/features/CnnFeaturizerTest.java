package io.sparkdl.features;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CnnFeaturizerTest {

    /** "CNN features into another classifier": LR on LeNet embeddings matches the CNN within a point. */
    @Test
    void logisticRegressionOnEmbeddingsMatchesTheCnn() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> all = Fuzzers.smallDecoded(spark, 100).cache();
        Dataset<Row>[] split = all.randomSplit(new double[]{0.8, 0.2}, 5);
        Dataset<Row> train = split[0].cache();
        Dataset<Row> test = split[1].cache();
        CnnClassifierModel cnn = new CnnClassifier().setEpochs(8).setBatchSize(32).setSeed(2).setNumWorkers(2)
                .fit(train);
        double cnnAcc = ClassificationMetrics.compute(cnn.transform(test), "label", "prediction", cnn.labels())
                .accuracy();

        CnnFeaturizer f = new CnnFeaturizer(cnn);
        assertEquals(4, f.resolvedLayer(), "LeNet: the dense layer before the output");
        assertEquals(500, f.embeddingSize());
        // StringIndexer in alphabetical order gives the CNN's class indices
        StringIndexerModel idx = new StringIndexer().setInputCol("label").setOutputCol("y")
                .setStringOrderType("alphabetAsc").fit(train);
        Dataset<Row> embTrain = idx.transform(f.transform(train));
        Dataset<Row> embTest = idx.transform(f.transform(test));
        assertEquals(500, ((Vector) embTrain.select("embedding").first().get(0)).size());
        LogisticRegressionModel lr = new LogisticRegression().setFeaturesCol("embedding").setLabelCol("y")
                .setMaxIter(200).setRegParam(1e-3).fit(embTrain);
        Dataset<Row> scored = lr.transform(embTest);
        double lrAcc = (double) scored.where(col("prediction").equalTo(col("y"))).count() / scored.count();
        assertTrue(cnnAcc > 0.6, "the CNN learned something: " + cnnAcc);
        assertTrue(lrAcc >= cnnAcc - 0.01, "LR on embeddings " + lrAcc + " vs CNN " + cnnAcc);
        all.unpersist();
        train.unpersist();
        test.unpersist();
    }

    @Test
    void badLayerAndMissingModelAreClearErrors() {
        CnnFeaturizer f = new CnnFeaturizer(Fuzzers.tinyModel()).setLayer(17);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f::resolvedLayer);
        assertTrue(e.getMessage().contains("layer 17") && e.getMessage().contains("0..5"), e.getMessage());
        IllegalStateException s = assertThrows(IllegalStateException.class,
                () -> new CnnFeaturizer().transformSchema(Fuzzers.smallDecoded(SparkTest.spark(), 1).schema()));
        assertTrue(s.getMessage().contains("setModel"), s.getMessage());
    }
}
