package io.sparkdl.explain;

import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.Normalization;
import io.sparkdl.nn.NetworkSpec;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaliencyTest {
    /** Smooth layers (tanh, average pooling) so finite differences are exact up to rounding. */
    private static final String NET = """
            {"layers": [
              {"type": "conv", "filters": 4, "kernel": 3, "padding": 1, "activation": "identity"},
              {"type": "batchnorm"},
              {"type": "activation", "activation": "tanh"},
              {"type": "avgpool", "kernel": 2},
              {"type": "dropout", "rate": 0.5},
              {"type": "dense", "units": 12, "activation": "identity"},
              {"type": "batchnorm"},
              {"type": "activation", "activation": "tanh"},
              {"type": "output"}
            ]}""";

    private static final int[] SHAPE = {8, 6, 3};

    private static MultiLayerNetwork network() {
        MultiLayerNetwork net = new MultiLayerNetwork(NetworkSpec.parse(NET).toConfiguration(8, 6, 3, 3,
                new NetworkSpec.Settings("adam", 0.05, 0.9, 0, 3)));
        net.init();
        // a few steps so the batch norms' running statistics and scales are not the identity
        Random r = new Random(1);
        for (int i = 0; i < 20; i++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 16, 3, 8, 6).muli(2).addi(r.nextDouble());
            INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 3);
            for (int k = 0; k < 16; k++) {
                y.putScalar(k, r.nextInt(3), 1);
            }
            net.fit(x, y);
        }
        return net;
    }

    /** The logit of class c in inference mode, from the layer activations. */
    private static double logit(MultiLayerNetwork net, INDArray x, int c) {
        List<INDArray> acts = net.feedForward(x, false);
        INDArray h = acts.get(acts.size() - 2);
        INDArray w = net.getLayer(net.getnLayers() - 1).getParam("W").castTo(DataType.DOUBLE);
        INDArray b = net.getLayer(net.getnLayers() - 1).getParam("b").castTo(DataType.DOUBLE);
        return h.castTo(DataType.DOUBLE).mmul(w).addRowVector(b).getDouble(0, c);
    }

    @Test
    void theMapIsTheInferenceGradientOfTheClassScore() {
        Normalization norm = new Normalization(new double[]{0.4, 0.6, 0.5}, new double[]{0.2, 0.3, 0.25});
        MultiLayerNetwork net = network();
        Random r = new Random(7);
        Saliency.Result res = null;
        for (int cls = 0; cls < 3; cls++) {
            byte[] bgr = new byte[8 * 6 * 3];
            r.nextBytes(bgr);
            res = Saliency.explain(net, SHAPE, norm, new ImageCodec.Pixels(8, 6, 3, bgr), cls);
            INDArray x = input(res, norm);
            double eps = 1e-2;
            double maxErr = 0;
            double maxGrad = 0;
            for (int y = 0; y < 8; y++) {
                for (int xx = 0; xx < 6; xx++) {
                    double best = 0;
                    for (int ch = 0; ch < 3; ch++) {
                        INDArray plus = x.dup();
                        INDArray minus = x.dup();
                        plus.putScalar(new long[]{0, ch, y, xx}, x.getDouble(0, ch, y, xx) + eps);
                        minus.putScalar(new long[]{0, ch, y, xx}, x.getDouble(0, ch, y, xx) - eps);
                        double g = (logit(net, plus, cls) - logit(net, minus, cls)) / (2 * eps);
                        best = Math.max(best, Math.abs(g));
                    }
                    maxErr = Math.max(maxErr, Math.abs(best - res.map()[y][xx]));
                    maxGrad = Math.max(maxGrad, best);
                }
            }
            assertTrue(maxGrad > 1e-3, "a non-trivial gradient");
            assertTrue(maxErr < 2e-2 * maxGrad, "class " + cls + ": finite differences differ by " + maxErr
                    + " (largest gradient " + maxGrad + ")");
        }
        // inference mode: no dropout, so the same image gives the same map every time
        ImageCodec.Pixels img = new ImageCodec.Pixels(8, 6, 1, new byte[48]);
        float[][] a = Saliency.explain(net, SHAPE, norm, img, 1).map();
        float[][] b = Saliency.explain(net, SHAPE, norm, img, 1).map();
        for (int y = 0; y < 8; y++) {
            assertArrayEquals(a[y], b[y]);
        }
        var picture = Saliency.render(res, "test");
        assertEquals(3 * 6 * 20 + 4 * 8, picture.getWidth());
    }

    /** The network input explain built: its planar bytes, scaled and normalised. */
    private static INDArray input(Saliency.Result r, Normalization norm) {
        float[] f = new float[r.input().length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (r.input()[i] & 0xff) / 255f;
        }
        norm.apply(f, 1, r.channels(), r.height() * r.width());
        return Nd4j.create(f, new long[]{1, r.channels(), r.height(), r.width()}, 'c');
    }
}
