package io.sparkdl.classification;

import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CnnClassifier with engine torch: trains through parameter averaging, predicts and reloads like nd4j, warm starts
 * with frozen layers, and bf16 is refused on nd4j.
 */
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

    @Test
    void warmStartsFromTheInitialModelAndKeepsFrozenLayers() throws Exception {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 10).cache();
        CnnClassifierModel first = new CnnClassifier().setEngine("torch").setEpochs(2).setBatchSize(16)
                .setNumWorkers(2).setSeed(1).fit(data);
        String path = tmp.resolve("first").toString();
        first.write().overwrite().save(path);
        float[] p0 = first.network().params().toFloatVector();

        // lenet's layers 0-1 (conv 5x5x20, max pooling): bias 20 + weights 20*25; bf16 where the CPU has it
        int frozen = 20 + 20 * 25;
        CnnClassifierModel tuned = new CnnClassifier().setEngine("torch").setPrecision("bf16").setInitialModel(path)
                .setFrozenLayers(2).setEpochs(1).setBatchSize(16).setNumWorkers(2).setSeed(2).fit(data);
        float[] p1 = tuned.network().params().toFloatVector();
        assertArrayEquals(Arrays.copyOf(p0, frozen), Arrays.copyOf(p1, frozen), "frozen layers bitwise unchanged");
        int moved = 0;
        for (int i = frozen; i < p0.length; i++) {
            moved += p0[i] != p1[i] ? 1 : 0;
        }
        // (not all: dense weights behind inputs that ReLU zeroed in every image get no gradient)
        assertTrue(moved > 0.5 * (p0.length - frozen), moved + " of " + (p0.length - frozen) + " values trained");

        // a learning rate of 1e-7 barely moves anything: the run starts from the initial model's weights
        CnnClassifierModel barely = new CnnClassifier().setEngine("torch").setInitialModel(path)
                .setLearningRate(1e-7).setEpochs(1).setBatchSize(16).setNumWorkers(2).setSeed(3).fit(data);
        float[] p2 = barely.network().params().toFloatVector();
        for (int i = 0; i < p0.length; i++) {
            assertEquals(p0[i], p2[i], 1e-5, "parameter " + i + " starts at the initial model's");
        }
        double before = accuracy(first.transform(data));
        double after = accuracy(barely.transform(data));
        assertTrue(before > 0.3, "initial model's training accuracy " + before + " (chance is 0.1)");
        assertEquals(before, after, 0.02, "accuracy after a warm-started epoch at lr 1e-7");
        data.unpersist();
    }

    private static double accuracy(Dataset<Row> predicted) {
        return (double) predicted.where(col("predictedLabel").equalTo(col("label"))).count() / predicted.count();
    }

    @Test
    void precisionIsValidatedAndBf16NeedsTheTorchEngine() {
        assertEquals("fp32", new CnnClassifier().getPrecision());
        assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setPrecision("fp16"));
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setEngine("nd4j").setPrecision("bf16").fit(data));
        assertTrue(e.getMessage().contains("precision") && e.getMessage().contains("engine = nd4j"), e.getMessage());
        new CnnClassifier().setEngine("torch").setPrecision("bf16").transformSchema(data.schema());
    }
}
