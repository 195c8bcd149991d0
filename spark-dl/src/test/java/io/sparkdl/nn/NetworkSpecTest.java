package io.sparkdl.nn;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NetworkSpecTest {
    static final NetworkSpec.Settings ADAM = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 1);

    @Test
    void shapesAreCheckedBeforeAnyDataWithTheLayerThatDoesNotFit() {
        NetworkSpec lenet = NetworkSpec.parse("lenet");
        lenet.checkInput(28, 28, 1);
        lenet.checkInput(16, 16, 1);
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> lenet.checkInput(8, 8, 1));
        assertTrue(small.getMessage().contains("layers[2] (conv, kernel 5x5) gets 2x2 input")
                && small.getMessage().contains("smallest square input it takes is 16x16"), small.getMessage());
        // the same message from the DL4J configuration, so no caller meets DL4J's own shape errors
        assertThrows(IllegalArgumentException.class, () -> lenet.toConfiguration(15, 15, 1, 10,
                new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 1)));
        NetworkSpec big = NetworkSpec.parse("""
                {"layers": [{"type": "conv", "filters": 4, "kernel": 40}, {"type": "output"}]}""");
        IllegalArgumentException k40 = assertThrows(IllegalArgumentException.class, () -> big.checkInput(28, 28, 1));
        assertTrue(k40.getMessage().contains("layers[0] (conv, kernel 40x40) gets 28x28 input"), k40.getMessage());
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> lenet.checkInput(100000, 100000, 1));
        assertTrue(huge.getMessage().contains("between 1 and 8192"), huge.getMessage());
        NetworkSpec afterFlat = NetworkSpec.parse("""
                {"layers": [{"type": "dense", "units": 4}, {"type": "conv", "filters": 4, "kernel": 1},
                            {"type": "output"}]}""");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> afterFlat.checkInput(8, 8, 1)).getMessage()
                .contains("fits no input size: layers[1] (conv) comes after a layer that flattens"));
        NetworkSpec.parse("resnet").checkInput(1, 1, 3);
    }

    @Test
    void lenetHasTheClassicShape() {
        NetworkSpec lenet = NetworkSpec.parse("LeNet");
        assertArrayEquals(new int[]{28, 28, 1}, lenet.defaultInput());
        MultiLayerNetwork net = new MultiLayerNetwork(lenet.toConfiguration(28, 28, 1, 10, ADAM));
        net.init();
        // conv1 5*5*1*20+20, conv2 5*5*20*50+50, dense 800*500+500, out 500*10+10
        assertEquals(520 + 25050 + 400500 + 5010, net.numParams());
        assertArrayEquals(new long[]{3, 10}, net.output(Nd4j.rand(3, 1, 28, 28)).shape());
    }

    @Test
    void jsonSpecWithEveryLayerTypeBuildsAndRuns() {
        String json = """
                {"layers": [
                  {"type": "conv", "filters": 4, "kernel": 3, "stride": 1, "padding": 1, "activation": "leakyrelu"},
                  {"type": "batchnorm"},
                  {"type": "maxpool", "kernel": 2},
                  {"type": "conv", "filters": 6, "kernel": 3, "activation": "tanh"},
                  {"type": "avgpool", "kernel": 2, "stride": 1},
                  {"type": "dropout", "rate": 0.25},
                  {"type": "dense", "units": 16, "activation": "sigmoid"},
                  {"type": "output"}
                ]}""";
        NetworkSpec spec = NetworkSpec.parse(json);
        assertEquals(null, spec.defaultInput());
        for (String u : new String[]{"sgd", "momentum", "nesterov", "adam"}) {
            MultiLayerConfiguration conf = spec.toConfiguration(8, 8, 3, 4,
                    new NetworkSpec.Settings(u, 0.01, 0.9, 1e-4, 3));
            MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(conf.toJson()));
            net.init();
            net.fit(Nd4j.rand(5, 3, 8, 8), Nd4j.eye(5).getColumns(0, 1, 2, 3));
            assertArrayEquals(new long[]{5, 4}, net.output(Nd4j.rand(5, 3, 8, 8)).shape(), u);
        }
        NetworkSpec gap = NetworkSpec.parse("""
                {"layers": [{"type": "conv", "filters": 3, "kernel": 3}, {"type": "globalavgpool"},
                            {"type": "output"}]}""");
        MultiLayerNetwork g = new MultiLayerNetwork(gap.toConfiguration(10, 12, 1, 2, ADAM));
        g.init();
        assertArrayEquals(new long[]{2, 2}, g.output(Nd4j.rand(2, 1, 10, 12)).shape());
    }

    @Test
    void bncnnAndResnetSurviveJsonAndNetworkZip(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        for (String arch : new String[]{"bncnn", "resnet"}) {
            MultiLayerConfiguration conf = NetworkSpec.parse(arch).toConfiguration(28, 28, 1, 10, ADAM);
            MultiLayerNetwork net = new MultiLayerNetwork(conf);
            net.init();
            var x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 1, 28, 28);
            net.fit(x, Nd4j.eye(4).getColumns(0, 1, 2, 3, 0, 1, 2, 3, 0, 1).castTo(
                    org.nd4j.linalg.api.buffer.DataType.FLOAT));
            var expected = net.output(x, false);
            // executors rebuild networks from the configuration JSON and copy the weights in
            MultiLayerNetwork copy = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(conf.toJson()));
            copy.init();
            copy.setParams(net.params().dup());
            assertEquals(0, expected.sub(copy.output(x, false)).amaxNumber().doubleValue(), 1e-5, arch);
            String f = tmp.resolve(arch + ".zip").toString();
            io.sparkdl.io.NetworkZip.write(net, f, new org.apache.hadoop.conf.Configuration());
            MultiLayerNetwork back = io.sparkdl.io.NetworkZip.read(f, new org.apache.hadoop.conf.Configuration());
            assertEquals(0, expected.sub(back.output(x, false)).amaxNumber().doubleValue(), 1e-5, arch);
        }
    }

    @Test
    void residualBlockAddsItsInput() {
        // a block whose convolutions are zero is relu(x) (identity shortcut) for non-negative input
        MultiLayerConfiguration conf = NetworkSpec.parse("""
                {"layers": [{"type": "residual", "filters": 2, "kernel": 3},
                            {"type": "globalavgpool"}, {"type": "output"}]}""")
                .toConfiguration(5, 5, 2, 2, ADAM);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.getLayer(0).params().assign(0);
        var x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, 2, 5, 5);
        var acts = net.feedForward(x, false);
        assertEquals(0, acts.get(1).sub(x).amaxNumber().doubleValue(), 1e-6);
        // a stride-2 block with a new width has a 1x1 projection and halves the resolution (rounded up)
        MultiLayerNetwork down = new MultiLayerNetwork(NetworkSpec.parse("""
                {"layers": [{"type": "residual", "filters": 4, "kernel": 3, "stride": 2}, {"type": "output"}]}""")
                .toConfiguration(7, 7, 2, 3, ADAM));
        down.init();
        assertEquals(3 * 3 * 2 * 4 + 4 + 3 * 3 * 4 * 4 + 4 + 2 * 4 + (4 * 4 * 4) * 3 + 3, down.numParams());
    }

    @Test
    void heInitAndWeightDecayReachTheConfiguration() {
        MultiLayerConfiguration conf = NetworkSpec.parse("bncnn").toConfiguration(28, 28, 1, 10,
                new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 1, 5e-4, "", 1));
        var conv = (org.deeplearning4j.nn.conf.layers.ConvolutionLayer) conf.getConf(0).getLayer();
        assertEquals(new org.deeplearning4j.nn.weights.WeightInitRelu(), conv.getWeightInitFn());
        assertTrue(conv.getRegularization().stream()
                .anyMatch(r -> r instanceof org.nd4j.linalg.learning.regularization.WeightDecay w
                        && Math.abs(w.getCoeff().valueAt(0, 0) - 5e-4) < 1e-12), conv.getRegularization().toString());
        var lenetConv = (org.deeplearning4j.nn.conf.layers.ConvolutionLayer) NetworkSpec.parse("lenet")
                .toConfiguration(28, 28, 1, 10, ADAM).getConf(0).getLayer();
        assertEquals(new org.deeplearning4j.nn.weights.WeightInitXavier(), lenetConv.getWeightInitFn());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"weightInit\": \"lecun\", \"layers\": [{\"type\": \"output\"}]}")).getMessage()
                .contains("weightInit 'lecun' is unknown"));
    }

    @Test
    void learningRateSchedulesFollowTheirFormulas() {
        var step = LearningRateSchedule.parse("step:3:0.5", 0.1, 10);
        assertEquals(0.1, step.valueAt(0, 2), 1e-12);
        assertEquals(0.05, step.valueAt(0, 3), 1e-12);
        assertEquals(0.025, step.valueAt(0, 6), 1e-12);
        var exp = LearningRateSchedule.parse("exp:0.9", 0.1, 10);
        assertEquals(0.1 * 0.9 * 0.9, exp.valueAt(0, 2), 1e-12);
        var cos = LearningRateSchedule.parse("cosine", 0.1, 10);
        assertEquals(0.1, cos.valueAt(0, 0), 1e-12);
        assertEquals(0.05, cos.valueAt(0, 5), 1e-12);
        assertEquals(0.1 * 0.5 * (1 + Math.cos(Math.PI * 0.9)), cos.valueAt(0, 9), 1e-12);
        assertEquals(0.01, LearningRateSchedule.parse("cosine:0.1", 0.1, 4).valueAt(0, 4), 1e-12);
        assertEquals(null, LearningRateSchedule.parse("constant", 0.1, 10));
        for (String bad : new String[]{"step:0:0.5", "step:2", "exp:-1", "cosine:1.5", "linear", "exp:x"}) {
            assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.validate(bad), bad);
        }
        // the schedule reaches the updater and survives the JSON the executors rebuild networks from
        for (String u : new String[]{"sgd", "momentum", "nesterov", "adam"}) {
            MultiLayerConfiguration conf = NetworkSpec.parse("lenet").toConfiguration(28, 28, 1, 10,
                    new NetworkSpec.Settings(u, 0.1, 0.9, 0, 1, 0, "cosine", 10));
            var back = MultiLayerConfiguration.fromJson(conf.toJson());
            var upd = ((org.deeplearning4j.nn.conf.layers.BaseLayer) back.getConf(0).getLayer()).getIUpdater();
            assertEquals(0.05, upd.getLearningRate(0, 5), 1e-9, u);
        }
    }

    @Test
    void momentumIsHeavyBall() {
        Momentum m = new Momentum(0.1, 0.5);
        var view = Nd4j.zeros(1, 2);
        var u = m.instantiate(view, true);
        var g = Nd4j.createFromArray(new float[]{1f, 2f}).reshape(1, 2);
        u.applyUpdater(g, 0, 0);
        assertArrayEquals(new float[]{0.1f, 0.2f}, g.toFloatVector(), 1e-6f);
        var g2 = Nd4j.createFromArray(new float[]{1f, 2f}).reshape(1, 2);
        u.applyUpdater(g2, 1, 0);
        // v = 0.5 * [1, 2] + [1, 2] = [1.5, 3]; update = lr * v
        assertArrayEquals(new float[]{0.15f, 0.3f}, g2.toFloatVector(), 1e-6f);
    }

    @Test
    void errorsNameTheLayerAndField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse("alexnet"))
                .getMessage().contains("neither a built-in"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"layers\": [{\"type\": \"conv\", \"filters\": 0, \"kernel\": 3}, {\"type\": \"output\"}]}"))
                .getMessage().contains("layers[0].filters must be a positive integer"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"layers\": [{\"type\": \"dense\", \"units\": 3}]}"))
                .getMessage().contains("must be of type 'output'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"layers\": [{\"type\": \"dense\", \"units\": 3, \"activation\": \"swish2\"}, {\"type\": \"output\"}]}"))
                .getMessage().contains("layers[0].activation 'swish2' is unknown"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"layers\": [{\"type\": \"dropout\", \"rate\": 1.5}, {\"type\": \"output\"}]}"))
                .getMessage().contains("layers[0].rate"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse(
                "{\"layers\": [{\"type\": \"conv\", \"filters\": 2, \"kernel\": 3, \"size\": 2}, {\"type\": \"output\"}]}"))
                .getMessage().contains("unknown field 'size'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NetworkSpec.parse("{oops"))
                .getMessage().contains("not valid JSON"));
    }
}
