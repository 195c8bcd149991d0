package io.sparkdl.classification;

import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CnnClassifier with engine torch: trains through parameter averaging, predicts and reloads like nd4j. */
class TorchEngineClassifierTest {
    @TempDir
    Path tmp;

    @Test
    void torchEngineTrainsAModelThatPredictsAndReloads() throws Exception {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> images = new ImageDecoder().setHandleInvalid("skip")
                .transform(ImageSources.readFolder(spark, SparkTest.fashionSmall()));
        Dataset<Row>[] split = images.randomSplit(new double[]{0.8, 0.2}, 3);
        CnnClassifier classifier = new CnnClassifier().setEngine("torch").setEpochs(6).setSeed(1);
        assertEquals("torch", classifier.getEngine());
        CnnClassifierModel model = classifier.fit(split[0]);
        List<io.sparkdl.train.EpochStats> h = model.summary().history();
        assertEquals(6, h.size());
        assertTrue(h.get(5).loss() < h.get(0).loss(), model.summary().toString());

        Dataset<Row> pred = model.transform(split[1]).cache();
        double acc = (double) pred.where(col("predictedLabel").equalTo(col("label"))).count() / pred.count();
        assertTrue(acc > 0.5, "held-out accuracy " + acc + " (chance is 0.1)");

        String dir = tmp.resolve("model").toString();
        model.write().overwrite().save(dir);
        List<Row> a = pred.select("path", "probability").orderBy("path").collectAsList();
        List<Row> b = CnnClassifierModel.load(dir).transform(split[1]).select("path", "probability")
                .orderBy("path").collectAsList();
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(((Vector) a.get(i).get(1)).toArray(), ((Vector) b.get(i).get(1)).toArray(), 0.0);
        }
    }

    @Test
    void engineIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setEngine("tensorflow"));
    }
}
