package io.sparkdl.classification;

import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WarmStartTest {
    @TempDir
    Path tmp;

    @Test
    void fineTuningKeepsFrozenLayersAndWidensTheOutputForNewClasses() throws Exception {
        Dataset<Row> all = Fuzzers.smallDecoded(SparkTest.spark(), 10).cache();
        Dataset<Row> five = all.where(col("label").isin("bag", "coat", "dress", "sandal", "shirt"));
        CnnClassifierModel first = new CnnClassifier().setEpochs(2).setBatchSize(16).setNumWorkers(2).setSeed(1)
                .fit(five);
        assertEquals(5, first.labels().length);
        String path = tmp.resolve("first").toString();
        first.write().overwrite().save(path);

        CnnClassifierModel tuned = new CnnClassifier().setInitialModel(path).setFrozenLayers(4).setEpochs(1)
                .setBatchSize(16).setNumWorkers(2).setSeed(2).fit(all);
        assertEquals(10, tuned.labels().length, "new classes widen the output layer");
        assertTrue(java.util.Arrays.asList(tuned.labels()).containsAll(java.util.Arrays.asList(first.labels())));
        MultiLayerNetwork a = first.network();
        MultiLayerNetwork b = tuned.network();
        for (int i = 0; i < 4; i++) {
            if (a.getLayer(i).numParams() > 0) {
                assertArrayEquals(a.getLayer(i).params().toFloatVector(), b.getLayer(i).params().toFloatVector(),
                        "frozen layer " + i + " did not move");
            }
        }
        assertFalse(java.util.Arrays.equals(a.getLayer(4).params().toFloatVector(),
                b.getLayer(4).params().toFloatVector()), "the dense layer trained");
        // the saved fine-tuned model trains normally again (no frozen updaters left in it)
        CnnClassifierModel again = new CnnClassifier().setEpochs(1).setBatchSize(16).setNumWorkers(1).setSeed(3)
                .setInitialModel(save(tuned, "tuned")).fit(all);
        assertFalse(java.util.Arrays.equals(b.getLayer(0).params().toFloatVector(),
                again.network().getLayer(0).params().toFloatVector()), "layer 0 trains when not frozen");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CnnClassifier().setFrozenLayers(2).fit(all));
        assertTrue(e.getMessage().contains("initialModel"), e.getMessage());
        all.unpersist();
    }

    @Test
    void aRunResumedFromItsCheckpointEndsWhereAnUninterruptedRunEnds() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 6).cache();
        String ckpt = tmp.resolve("ckpt").toString();
        CnnClassifier base = new CnnClassifier().setBatchSize(16).setNumWorkers(2).setSeed(4);
        CnnClassifierModel straight = base.copy(org.apache.spark.ml.param.ParamMap.empty()).setEpochs(3).fit(data);
        // "crash" after two epochs: a run that stops there, leaving its checkpoint
        CnnClassifierModel two = base.copy(org.apache.spark.ml.param.ParamMap.empty()).setEpochs(2)
                .setCheckpointDir(ckpt).fit(data);
        CnnClassifierModel resumed = base.copy(org.apache.spark.ml.param.ParamMap.empty()).setEpochs(3)
                .setCheckpointDir(ckpt).fit(data);
        assertEquals(3, resumed.summary().history().size(), "history carries the checkpointed epochs");
        for (int e = 0; e < 2; e++) {
            assertEquals(two.summary().history().get(e), resumed.summary().history().get(e),
                    "epoch " + (e + 1) + " comes from the checkpoint (same timings), it was not run again");
        }
        float[] x = straight.network().params().toFloatVector();
        float[] y = resumed.network().params().toFloatVector();
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            max = Math.max(max, Math.abs(x[i] - y[i]));
        }
        assertTrue(max < 1e-5, "max weight difference " + max);
        data.unpersist();
    }

    private String save(CnnClassifierModel m, String name) throws Exception {
        String p = tmp.resolve(name).toString();
        m.write().overwrite().save(p);
        return p;
    }

    @Test
    void theTorchEngineFindsTheArchThatDescribesTheInitialModel() {
        NetworkSpec.Settings s = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 1);
        int[] shape = {28, 28, 1};
        var bncnn = NetworkSpec.parse("bncnn").toConfiguration(28, 28, 1, 10, s);
        assertEquals("lenet", WarmStart.torchArch(NetworkSpec.parse("lenet").toConfiguration(28, 28, 1, 10, s),
                "lenet", "m", shape, 10, s));
        assertEquals("bncnn", WarmStart.torchArch(bncnn, "lenet", "m", shape, 10, s), "a built-in when arch differs");
        String custom = """
                {"layers": [{"type": "conv", "filters": 4, "kernel": 3, "activation": "relu"},
                            {"type": "globalavgpool"}, {"type": "output"}]}""";
        var customConf = NetworkSpec.parse(custom).toConfiguration(28, 28, 1, 10, s);
        assertEquals(custom, WarmStart.torchArch(customConf, custom, "m", shape, 10, s));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WarmStart.torchArch(customConf, "lenet", "/models/m", shape, 10, s));
        assertTrue(e.getMessage().contains("arch") && e.getMessage().contains("/models/m"), e.getMessage());
        // same layers, other activation: not the same network
        var tanh = NetworkSpec.parse(custom.replace("relu", "tanh")).toConfiguration(28, 28, 1, 10, s);
        assertThrows(IllegalArgumentException.class, () -> WarmStart.torchArch(tanh, custom, "m", shape, 10, s));
    }
}
