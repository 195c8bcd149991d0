package io.sparkdl.engine.torch;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.nn.NetworkSpec;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The torch engine against the ND4J one on the same weights: every layer's output, the loss, the gradient and
 * a few updater steps agree within 1e-4 (fp32), for every built-in and every layer type of the JSON spec.
 *
 * <p>Open differences, where DL4J M2.1 is the odd one out or the cause is not found yet:
 * <ul>
 *   <li>through each residual block DL4J's gradient is twice the true one (finite differences agree with
 *   torch): the gradient comparison divides DL4J's by that factor;</li>
 *   <li>L2 together with weight decay: DL4J's configuration builder drops the L2 (with a warning), the torch
 *   engine applies both;</li>
 *   <li>Adam with L2: for parameters whose gradient is smaller than {@code l2 w}, DL4J's first step goes the
 *   other way from torch's (and from the formula, L2 added to the gradient before Adam).</li>
 * </ul>
 */
class TorchNetworkTest {
    /** Every layer type and activation not in the built-ins, with padding and strides that do not divide. */
    static final String EVERY_LAYER = """
            {"layers": [
              {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": 1, "activation": "leakyrelu"},
              {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1},
              {"type": "conv", "filters": 5, "kernel": 2, "activation": "tanh", "init": "he"},
              {"type": "batchnorm"},
              {"type": "activation", "activation": "elu"},
              {"type": "residual", "filters": 5, "kernel": 3, "stride": 1},
              {"type": "maxpool", "kernel": 2, "stride": 1, "padding": 1},
              {"type": "dropout", "rate": 0.3},
              {"type": "dense", "units": 12, "activation": "sigmoid"},
              {"type": "batchnorm"},
              {"type": "dense", "units": 7, "activation": "identity"},
              {"type": "output"}
            ]}""";
    static final String GLOBAL_MAX = """
            {"layers": [{"type": "conv", "filters": 6, "kernel": 3, "activation": "relu"},
                        {"type": "residual", "filters": 8, "kernel": 3, "stride": 2},
                        {"type": "globalmaxpool"}, {"type": "output"}]}""";
    static final double TOL = 1e-4;

    @BeforeAll
    static void init() {
        Nd4jBackend.init();
    }

    static int[] inputShape(String arch) {
        return switch (arch) {
            case "lenet", "bncnn", "resnet" -> new int[]{28, 28, 1};
            default -> new int[]{11, 13, 2};
        };
    }

    static String spec(String arch) {
        return switch (arch) {
            case "every" -> EVERY_LAYER;
            case "globalmax" -> GLOBAL_MAX;
            default -> arch;
        };
    }

    /** The same spec without dropout layers: their masks are random, so training-mode comparisons drop them. */
    static String withoutDropout(String arch) {
        String json = switch (arch) {
            case "lenet" -> NetworkSpec.LENET;
            case "bncnn" -> NetworkSpec.BNCNN;
            case "resnet" -> NetworkSpec.RESNET;
            default -> spec(arch);
        };
        return json.replaceAll("\\{\"type\": \"dropout\", \"rate\": [0-9.]+},?\\s*", "");
    }

    static float[] images(int n, int[] hwc, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * hwc[0] * hwc[1] * hwc[2]];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static INDArray nd(float[] x, int n, int[] hwc) {
        return Nd4j.create(x, new long[]{n, hwc[2], hwc[0], hwc[1]}, 'c');
    }

    static INDArray oneHot(int[] labels, int classes) {
        INDArray y = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, labels.length, classes);
        for (int i = 0; i < labels.length; i++) {
            y.putScalar(i, labels[i], 1);
        }
        return y;
    }

    static MultiLayerNetwork dl4j(NetworkSpec spec, int[] hwc, int classes, NetworkSpec.Settings s) {
        MultiLayerNetwork net = new MultiLayerNetwork(spec.toConfiguration(hwc[0], hwc[1], hwc[2], classes, s));
        net.init();
        return net;
    }

    /**
     * Layer i's output on its own: in a full feedForward list DL4J's activation layers apply their function
     * in place to the previous layer's output.
     */
    static float[] dl4jActivation(MultiLayerNetwork ref, int i, INDArray x, boolean training) {
        return flatC(ref.feedForwardToLayer(i, x, training).get(i + 1));
    }

    static float[] flatC(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]) / Math.max(1.0, Math.abs(expected[i]));
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        assertTrue(worst <= TOL, what + ": differs by " + worst + " at " + at + " (dl4j "
                + (at >= 0 ? expected[at] : 0) + ", torch " + (at >= 0 ? actual[at] : 0) + ")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet", "bncnn", "resnet", "every", "globalmax"})
    void inferenceMatchesDl4jLayerByLayer(String arch) {
        int[] hwc = inputShape(arch);
        NetworkSpec spec = NetworkSpec.parse(spec(arch));
        NetworkSpec.Settings s = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 7);
        MultiLayerNetwork ref = dl4j(spec, hwc, 10, s);
        // Non-trivial batch norm statistics: one training step moves them off (0, 1).
        int n = 6;
        int[] labels = {0, 1, 2, 3, 4, 5};
        ref.fit(nd(images(n, hwc, 1), n, hwc), oneHot(labels, 10));
        try (TorchNetwork net = new TorchNetwork(spec, hwc[0], hwc[1], hwc[2], 10, s, 1)) {
            assertEquals(ref.numParams(), net.numParams(), "parameter count");
            net.setParams(ref.params().toFloatVector());
            float[] x = images(n, hwc, 2);
            List<float[]> actual = net.activations(x, n, false);
            for (int i = 0; i < actual.size() - 1; i++) {
                assertClose(dl4jActivation(ref, i, nd(x, n, hwc), false), actual.get(i), arch + " layers[" + i + "]");
            }
            assertClose(flatC(ref.output(nd(x, n, hwc), false)), net.output(x, n), arch + " output");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet", "bncnn", "resnet", "every", "globalmax"})
    void trainingForwardLossAndGradientMatchDl4j(String arch) {
        int[] hwc = inputShape(arch);
        NetworkSpec spec = NetworkSpec.parse(withoutDropout(arch));
        NetworkSpec.Settings s = new NetworkSpec.Settings("sgd", 0.1, 0.9, 0, 11);
        MultiLayerNetwork ref = dl4j(spec, hwc, 10, s);
        int n = 8;
        int[] labels = {3, 1, 4, 1, 5, 9, 2, 6};
        float[] x = images(n, hwc, 3);
        try (TorchNetwork net = new TorchNetwork(spec, hwc[0], hwc[1], hwc[2], 10, s, 1)) {
            net.setParams(ref.params().toFloatVector());
            List<float[]> actual = net.activations(x, n, true);
            for (int i = 0; i < actual.size() - 1; i++) {
                assertClose(dl4jActivation(ref, i, nd(x, n, hwc), true), actual.get(i), arch + " train layers[" + i + "]");
            }
            ref.setInput(nd(x, n, hwc));
            ref.setLabels(oneHot(labels, 10));
            ref.computeGradientAndScore();
            // DL4J's gradient is summed over the minibatch; its updater divides by the minibatch size.
            float[] refGrad = ref.gradient().gradient().div(n).toFloatVector();
            assertEquals(ref.score(), net.loss(x, labels, n), TOL, arch + " loss");
            float[] grad = net.gradient(x, labels, n);
            zeroRunningStats(net, refGrad, grad);
            for (int i = 0; i < refGrad.length; i++) {
                refGrad[i] /= dl4jResidualFactor(net, i);
            }
            assertClose(refGrad, grad, arch + " gradient");
        }
    }

    /**
     * The torch gradient against central differences of the loss, which pins down which engine is right where
     * they differ (residual blocks, see {@link #dl4jResidualFactor}).
     */
    @ParameterizedTest
    @ValueSource(strings = {"every", "globalmax", "resnet"})
    void gradientMatchesFiniteDifferences(String arch) {
        int[] hwc = inputShape(arch);
        NetworkSpec spec = NetworkSpec.parse(withoutDropout(arch));
        NetworkSpec.Settings s = new NetworkSpec.Settings("sgd", 0.1, 0.9, 0, 11);
        int n = 8;
        int[] labels = {3, 1, 4, 1, 5, 9, 2, 6};
        float[] x = images(n, hwc, 3);
        try (TorchNetwork net = new TorchNetwork(spec, hwc[0], hwc[1], hwc[2], 10, s, 1)) {
            float[] grad = net.gradient(x, labels, n);
            float[] p = net.params();
            float[] mask = net.weightMask();
            Random r = new Random(1);
            int checked = 0;
            while (checked < 12) {
                int i = r.nextInt(p.length);
                if (mask[i] == 0) {
                    continue; // weights only: biases and batch norm follow the same code paths
                }
                double h = 1e-3;
                float old = p[i];
                p[i] = (float) (old + h);
                net.setParams(p);
                double up = net.loss(x, labels, n);
                p[i] = (float) (old - h);
                net.setParams(p);
                double down = net.loss(x, labels, n);
                p[i] = old;
                net.setParams(p);
                double fd = (up - down) / (2 * h);
                assertEquals(fd, grad[i], 1e-3 + 0.1 * Math.abs(fd), arch + " gradient of parameter " + i);
                checked++;
            }
        }
    }

    /**
     * DL4J M2.1 returns twice the true gradient through each SameDiff layer ({@link io.sparkdl.nn.ResidualBlock}):
     * for a parameter of layer j the factor is 2 to the number of residual blocks at or after j (measured against
     * finite differences in {@link #gradientMatchesFiniteDifferences}). Adam is nearly scale-free, which hid it.
     */
    static double dl4jResidualFactor(TorchNetwork net, int param) {
        int blocks = 0;
        for (TorchNetwork.Op op : net.opsForTest()) {
            if (op instanceof TorchNetwork.Residual && op.offset + op.numParams > param) {
                blocks++;
            }
        }
        return Math.pow(2, blocks);
    }

    /** DL4J reports the running-statistics update in its gradient; they have no gradient on either engine. */
    static void zeroRunningStats(TorchNetwork net, float[] a, float[] b) {
        for (int[] range : runningStats(net)) {
            for (int i = range[0]; i < range[1]; i++) {
                a[i] = 0;
                b[i] = 0;
            }
        }
    }

    static List<int[]> runningStats(TorchNetwork net) {
        java.util.ArrayList<int[]> out = new java.util.ArrayList<>();
        for (TorchNetwork.Op op : net.opsForTest()) {
            if (op instanceof TorchNetwork.BatchNorm) {
                out.add(new int[]{op.offset + op.numParams / 2, op.offset + op.numParams});
            }
        }
        return out;
    }

    /**
     * bncnn's layout (convolutions, batch norm, pooling, dense) with its kinks smoothed out: ELU for ReLU, average
     * for max pooling, so that the loss is smooth in the parameters.
     *
     * <p>With ReLU and max pooling it is only piecewise smooth. Where a pre-activation lies within float rounding
     * of 0, or a pooling window's two largest values within rounding of each other, the engines take different
     * but equally valid subgradients, and which side each lands on depends on its kernels' rounding, which
     * depends on the CPU (oneDNN and ATen pick AVX-512 or AVX2 code). Measured on bncnn, sgd, lr 0.05, on an
     * AVX2 CPU: from the same parameters after step 1, a 2x2 max-pooling window after the fourth convolution held
     * 1.1522352 vs 1.1522377 on DL4J and 1.152237 vs 1.1522367 on torch; the two routed its gradient to different
     * cells, which moved the convolution's gradient by 1e-2 and its weights by 5e-4 in that step, and the next
     * step grew that to 2e-3 and spread it to every layer. A float64 DL4J run sided with DL4J in one case and
     * flipped against both float32 runs in another: neither engine is wrong, and no tolerance that holds on every
     * CPU would still catch a wrong update after a flip. On the smooth layout the engines stay within 1e-6 of
     * each other (and of float64) over the steps, on any CPU.
     */
    static String smooth(String json) {
        String smooth = json.replace("\"activation\": \"relu\"", "\"activation\": \"elu\"")
                .replace("\"type\": \"maxpool\"", "\"type\": \"avgpool\"");
        if (smooth.contains("relu") || smooth.contains("maxpool")) {
            throw new IllegalStateException("a kink left in " + smooth);
        }
        return smooth;
    }

    @ParameterizedTest
    // Not compared (open, see the class comment): Adam with L2, and L2 with weight decay.
    @org.junit.jupiter.params.provider.CsvSource({"sgd,0,0,3", "sgd,1e-3,0,3", "sgd,0,1e-2,3", "momentum,0,0,3",
            "momentum,1e-3,0,3", "nesterov,0,0,3", "adam,0,0,3", "adam,0,1e-2,3"})
    void updaterStepsMatchDl4j(String updater, double l2, double wd, int steps) {
        // bncnn without dropout, smoothed (see smooth): conv, batch norm (running statistics too), dense.
        int[] hwc = {28, 28, 1};
        NetworkSpec spec = NetworkSpec.parse(smooth(withoutDropout("bncnn")));
        double lr = updater.equals("adam") ? 1e-3 : 0.05;
        NetworkSpec.Settings s = new NetworkSpec.Settings(updater, lr, 0.9, l2, 5, wd, "", 1);
        MultiLayerNetwork ref = dl4j(spec, hwc, 10, s);
        try (TorchNetwork net = new TorchNetwork(spec, hwc[0], hwc[1], hwc[2], 10, s, 1)) {
            net.setParams(ref.params().toFloatVector());
            for (int step = 0; step < steps; step++) {
                int n = 8;
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = (i * 3 + step) % 10;
                }
                float[] x = images(n, hwc, 10 + step);
                ref.fit(nd(x, n, hwc), oneHot(labels, 10));
                net.fit(x, labels, n);
                String what = updater + " l2 " + l2 + " wd " + wd + ": parameters after " + (step + 1) + " steps";
                if (updater.equals("adam")) {
                    assertCloseAdam(net, ref.params().toFloatVector(), net.params(), lr * (step + 1), what);
                } else {
                    assertClose(ref.params().toFloatVector(), net.params(), what);
                }
            }
            assertEquals(steps, net.updater().iteration());
        }
    }

    /**
     * {@link #assertCloseAdam(float[], float[], double, String)} without the biases right before a batch norm: their
     * true gradient is 0 (the normalisation removes it), so their computed gradient is rounding noise that Adam
     * scales up to +-lr: not comparable, nor is the running mean of the batch norm after them.
     */
    static void assertCloseAdam(TorchNetwork net, float[] expected, float[] actual, double lrSteps, String what) {
        List<TorchNetwork.Op> ops = net.opsForTest();
        for (int j = 0; j + 1 < ops.size(); j++) {
            if (ops.get(j + 1) instanceof TorchNetwork.BatchNorm) {
                TorchNetwork.Op op = ops.get(j);
                int units = op.out.c();
                int from = op instanceof TorchNetwork.Conv ? op.offset : op.offset + op.numParams - units;
                int mean = ops.get(j + 1).offset + 2 * units;
                for (int i = 0; i < units; i++) {
                    expected[from + i] = actual[from + i] = 0;
                    expected[mean + i] = actual[mean + i] = 0;
                }
            }
        }
        assertCloseAdam(expected, actual, lrSteps, what);
    }

    /**
     * Adam steps each parameter by about lr g/|g|, so a parameter whose gradient is within rounding of zero may
     * step either way on either engine: at most 1e-4 of the parameters may differ by more than TOL, none by more
     * than 2 lr per step.
     */
    static void assertCloseAdam(float[] expected, float[] actual, double lrSteps, String what) {
        int off = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            assertTrue(d <= 2 * lrSteps + TOL, what + ": parameter " + i + " differs by " + d);
            off += d > TOL ? 1 : 0;
        }
        assertTrue(off <= expected.length * 1e-4, what + ": " + off + " of " + expected.length + " parameters differ");
    }

    @Test
    void sameSeedSameWeightsAfterTraining() {
        int[] hwc = {28, 28, 1};
        NetworkSpec spec = NetworkSpec.parse("bncnn"); // dropout and batch norm: the seeded parts
        float[][] results = new float[3][];
        long[] seeds = {21, 21, 22};
        for (int run = 0; run < 3; run++) {
            NetworkSpec.Settings s = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, seeds[run]);
            try (TorchNetwork net = new TorchNetwork(spec, hwc[0], hwc[1], hwc[2], 10, s, 1)) {
                for (int step = 0; step < 4; step++) {
                    int[] labels = {step, 1, 2, 3, 4, 5, 6, 7};
                    net.fit(images(8, hwc, 100 + step), labels, 8);
                }
                results[run] = net.params();
            }
        }
        assertArrayEquals(results[0], results[1], "same seed, same weights");
        assertFalse(java.util.Arrays.equals(results[0], results[2]), "another seed, other weights");
    }

    @Test
    void initialisationFollowsDl4jRules() {
        // lenet is xavier: N(0, 2/(fanIn+fanOut)); conv fan-out divides by the stride area (1 here).
        NetworkSpec.Settings s = new NetworkSpec.Settings("sgd", 0.1, 0, 0, 3);
        try (TorchNetwork net = new TorchNetwork(NetworkSpec.parse("lenet"), 28, 28, 1, 10, s, 1)) {
            float[] p = net.params();
            // dense layer: weights at [25570, 25570 + 800*500)
            assertStd(p, 25570, 800 * 500, Math.sqrt(2.0 / (800 + 500)));
            // conv2: bias [520, 570), weights [570, 570 + 50*20*25)
            assertStd(p, 570, 50 * 20 * 25, Math.sqrt(2.0 / (20 * 25 + 50 * 25)));
            for (int i = 520; i < 570; i++) {
                assertEquals(0f, p[i], "conv bias starts at 0");
            }
        }
        try (TorchNetwork net = new TorchNetwork(NetworkSpec.parse("bncnn"), 28, 28, 1, 10, s, 1)) {
            float[] p = net.params();
            // bncnn is he: N(0, 2/fanIn); conv2 weights after conv1 (32 + 288), bn1 (128) and conv2's bias (32)
            assertStd(p, 32 + 288 + 128 + 32, 32 * 32 * 9, Math.sqrt(2.0 / (32 * 9)));
            assertEquals(1f, p[320], "gamma starts at 1");
        }
    }

    static void assertStd(float[] p, int from, int n, double expected) {
        double sum = 0;
        double sq = 0;
        for (int i = from; i < from + n; i++) {
            sum += p[i];
            sq += (double) p[i] * p[i];
        }
        double mean = sum / n;
        double std = Math.sqrt(sq / n - mean * mean);
        assertEquals(expected, std, expected * 0.05, "std of " + n + " weights at " + from);
        assertEquals(0, mean, expected * 0.05, "mean of weights at " + from);
    }

    @Test
    void lenetLossFallsOnASmallSet() {
        // 10 classes, each a fixed random template plus noise: separable, so a few epochs must cut the loss.
        int n = 200;
        int[] hwc = {28, 28, 1};
        Random r = new Random(5);
        float[][] templates = new float[10][784];
        for (float[] t : templates) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) r.nextGaussian();
            }
        }
        float[] x = new float[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 10;
            for (int j = 0; j < 784; j++) {
                x[i * 784 + j] = templates[y[i]][j] + 0.5f * (float) r.nextGaussian();
            }
        }
        NetworkSpec.Settings s = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 9);
        try (TorchNetwork net = new TorchNetwork(NetworkSpec.parse("lenet"), 28, 28, 1, 10, s, 1)) {
            double first = 0;
            double last = 0;
            int batch = 20;
            for (int epoch = 0; epoch < 4; epoch++) {
                double sum = 0;
                for (int b = 0; b < n / batch; b++) {
                    float[] xb = java.util.Arrays.copyOfRange(x, b * batch * 784, (b + 1) * batch * 784);
                    int[] yb = java.util.Arrays.copyOfRange(y, b * batch, (b + 1) * batch);
                    sum += net.fit(xb, yb, batch);
                }
                if (epoch == 0) {
                    first = sum / (n / batch);
                }
                last = sum / (n / batch);
            }
            assertTrue(first > 1.0, "first epoch loss " + first);
            assertTrue(last < 0.3 * first, "loss fell from " + first + " to " + last);
            float[] p = net.output(x, 20);
            int correct = 0;
            for (int i = 0; i < 20; i++) {
                int best = 0;
                for (int c = 1; c < 10; c++) {
                    if (p[i * 10 + c] > p[i * 10 + best]) {
                        best = c;
                    }
                }
                correct += best == y[i] ? 1 : 0;
            }
            assertTrue(correct >= 18, correct + "/20 training images right");
        }
    }
}
