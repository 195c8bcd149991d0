package io.sparkdl.engine.torch;

import io.sparkdl.nn.NetworkSpec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static io.sparkdl.engine.torch.TorchNetworkTest.images;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Frozen layers on the torch engine: their parameters (batch norm's running statistics too) never change. */
class TorchFrozenLayersTest {
    private static final int[] HWC = {28, 28, 1};

    /** Layers 0-4 of bncnn: conv, batchnorm, relu, conv, batchnorm. */
    private static final int FROZEN = 5;

    private static float[] trainedLike(TorchNetwork net, long seed) {
        // a "trained" vector: every value away from its initial one, running statistics included (log10 std ~ 0.1)
        float[] p = net.params();
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] += 0.05f * (float) r.nextGaussian();
        }
        return p;
    }

    @Test
    void frozenSliceIsBitwiseUnchangedWithStateWeightDecayAndBatchNorm() {
        NetworkSpec spec = NetworkSpec.parse("bncnn");
        for (String updater : List.of("momentum", "adam")) {
            NetworkSpec.Settings s = new NetworkSpec.Settings(updater, 1e-2, 0.9, 0, 4, 1e-2, "", 1);
            try (TorchNetwork net = new TorchNetwork(spec, HWC[0], HWC[1], HWC[2], 10, s, 1, FROZEN, false)) {
                int frozenParams = 0;
                for (TorchNetwork.Op op : net.opsForTest()) {
                    frozenParams += op.index < FROZEN ? op.numParams : 0;
                }
                assertEquals(32 + 32 * 9 + 4 * 32 + 32 + 32 * 32 * 9 + 4 * 32, frozenParams);
                float[] start = trainedLike(net, 1);
                net.setParams(start);
                // state left by earlier unfrozen training (or averaging) must not move frozen weights either
                float[] state = new float[net.updater().stateSize()];
                Random r = new Random(2);
                for (int i = 0; i < state.length; i++) {
                    boolean adamV = updater.equals("adam") && i >= net.numParams();
                    state[i] = adamV ? 1e-4f : 0.01f * (float) r.nextGaussian();
                }
                net.setUpdaterState(state);
                for (int step = 0; step < 3; step++) {
                    net.fit(images(8, HWC, 10 + step), new int[]{0, 1, 2, 3, 4, 5, 6, 7}, 8);
                }
                float[] after = net.params();
                assertArrayEquals(Arrays.copyOf(start, frozenParams), Arrays.copyOf(after, frozenParams),
                        updater + ": frozen layers (running statistics too) bitwise unchanged");
                int moved = 0;
                for (int i = frozenParams; i < after.length; i++) {
                    moved += after[i] != start[i] ? 1 : 0;
                }
                // the later batch norms' running statistics and every weight and bias move
                assertTrue(moved > 0.95 * (after.length - frozenParams), updater + ": " + moved + " of "
                        + (after.length - frozenParams) + " trainable values moved");
            }
        }
    }

    @Test
    void frozenLayersRunInInferenceMode() {
        // DL4J's FrozenLayer: a frozen batch norm normalises with its running statistics even while training
        NetworkSpec.Settings s = new NetworkSpec.Settings("sgd", 0.1, 0, 0, 4);
        NetworkSpec spec = NetworkSpec.parse("bncnn");
        try (TorchNetwork frozen = new TorchNetwork(spec, HWC[0], HWC[1], HWC[2], 10, s, 1, FROZEN, false);
             TorchNetwork free = new TorchNetwork(spec, HWC[0], HWC[1], HWC[2], 10, s, 1)) {
            float[] p = trainedLike(frozen, 3);
            frozen.setParams(p);
            free.setParams(p);
            float[] x = images(4, HWC, 5);
            List<float[]> training = frozen.activations(x, 4, true);
            List<float[]> inference = free.activations(x, 4, false);
            List<float[]> freeTraining = free.activations(x, 4, true);
            for (int i = 0; i < FROZEN; i++) {
                assertArrayEquals(inference.get(i), training.get(i), "frozen layer " + i + " in inference mode");
            }
            assertFalse(Arrays.equals(inference.get(1), freeTraining.get(1)), "an unfrozen batch norm uses batch "
                    + "statistics while training");
        }
    }

    @Test
    void theOutputLayerCannotBeFrozen() {
        NetworkSpec.Settings s = new NetworkSpec.Settings("sgd", 0.1, 0, 0, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TorchNetwork(NetworkSpec.parse("lenet"), 28, 28, 1, 10, s, 1, 6, false));
        assertTrue(e.getMessage().contains("frozenLayers = 6"), e.getMessage());
    }
}
