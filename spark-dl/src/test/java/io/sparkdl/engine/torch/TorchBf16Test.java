package io.sparkdl.engine.torch;

import io.sparkdl.nn.NetworkSpec;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static io.sparkdl.engine.torch.TorchNetworkTest.images;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bf16 on the torch engine: convolutions and dense layers in bfloat16 on fp32 master weights, and the fallback
 * to fp32 where the CPU has no native bf16.
 */
class TorchBf16Test {
    private static final int[] HWC = {28, 28, 1};
    private static final String NO_BF16 = "this CPU has neither avx512_bf16 nor amx_bf16: the torch engine trains "
            + "bf16 requests in fp32 (the fallback is tested by fallsBackToFp32WithoutNativeBf16)";

    private static TorchNetwork net(String arch, String updater, boolean bf16) {
        NetworkSpec.Settings s = new NetworkSpec.Settings(updater, 1e-3, 0.9, 0, 9);
        return new TorchNetwork(NetworkSpec.parse(arch), HWC[0], HWC[1], HWC[2], 10, s, 1, 0, bf16);
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet", "bncnn", "resnet"})
    void forwardDiffersFromFp32ByBf16Rounding(String arch) {
        assumeTrue(TorchRuntime.nativeBf16(), NO_BF16);
        try (TorchNetwork fp32 = net(arch, "adam", false); TorchNetwork bf16 = net(arch, "adam", true)) {
            assertTrue(bf16.bf16());
            bf16.setParams(fp32.params());
            float[] x = images(16, HWC, 7);
            for (boolean training : new boolean[]{false, true}) {
                List<float[]> a = fp32.activations(x, 16, training);
                List<float[]> b = bf16.activations(x, 16, training);
                float[] la = a.get(a.size() - 1);
                float[] lb = b.get(b.size() - 1);
                assertFalse(Arrays.equals(la, lb), arch + ": bf16 logits equal fp32's, so bf16 did not run");
                double scale = 0;
                double diff = 0;
                for (int i = 0; i < la.length; i++) {
                    scale = Math.max(scale, Math.abs(la[i]));
                    diff = Math.max(diff, Math.abs(la[i] - lb[i]));
                }
                assertTrue(diff <= 2e-2 * scale, arch + (training ? " training" : " inference")
                        + ": logits differ by " + diff + " of " + scale);
            }
        }
    }

    @Test
    void bf16TrainsLikeFp32OnFp32MasterWeights() {
        assumeTrue(TorchRuntime.nativeBf16(), NO_BF16);
        int n = 200;
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
        double[] accuracy = new double[2];
        for (int run = 0; run < 2; run++) {
            try (TorchNetwork net = net("lenet", "adam", run == 1)) {
                int batch = 20;
                for (int epoch = 0; epoch < 3; epoch++) {
                    for (int b = 0; b < n / batch; b++) {
                        net.fit(Arrays.copyOfRange(x, b * batch * 784, (b + 1) * batch * 784),
                                Arrays.copyOfRange(y, b * batch, (b + 1) * batch), batch);
                    }
                }
                accuracy[run] = accuracy(net.output(x, n), y);
                if (run == 1) {
                    assertEquals(torch.ScalarType.Float, net.parameterType(), "master weights stay fp32");
                    // fp32 masters keep the 16 low mantissa bits that a bf16 copy would drop
                    long beyondBf16 = 0;
                    float[] p = net.params();
                    for (float v : p) {
                        beyondBf16 += (Float.floatToRawIntBits(v) & 0xFFFF) != 0 ? 1 : 0;
                    }
                    assertTrue(beyondBf16 > p.length / 2, beyondBf16 + " of " + p.length
                            + " parameters are not bf16 values");
                }
            }
        }
        assertTrue(accuracy[0] >= 0.9, "fp32 accuracy " + accuracy[0]);
        assertTrue(accuracy[1] >= 0.9 && Math.abs(accuracy[1] - accuracy[0]) <= 0.05,
                "bf16 accuracy " + accuracy[1] + ", fp32 " + accuracy[0]);
    }

    @Test
    void fallsBackToFp32WithoutNativeBf16() {
        TorchRuntime.nativeBf16Override = false;
        try (TorchNetwork fp32 = net("bncnn", "adam", false); TorchNetwork asked = net("bncnn", "adam", true)) {
            assertFalse(asked.bf16(), "no native bf16: fp32");
            for (int step = 0; step < 3; step++) {
                float[] x = images(8, HWC, 30 + step);
                int[] labels = {0, 1, 2, 3, 4, 5, 6, 7};
                assertEquals(fp32.fit(x, labels, 8), asked.fit(x, labels, 8));
            }
            assertArrayEquals(fp32.params(), asked.params(), "the fallback trains exactly as fp32");
        } finally {
            TorchRuntime.nativeBf16Override = null;
        }
    }

    static double accuracy(float[] p, int[] y) {
        int correct = 0;
        for (int i = 0; i < y.length; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++) {
                if (p[i * 10 + c] > p[i * 10 + best]) {
                    best = c;
                }
            }
            correct += best == y[i] ? 1 : 0;
        }
        return (double) correct / y.length;
    }
}
