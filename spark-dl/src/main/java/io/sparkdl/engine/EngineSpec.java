package io.sparkdl.engine;

import io.sparkdl.engine.torch.TorchNetwork;
import io.sparkdl.nn.NetworkSpec;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * What an executor needs to build a training network on either engine; sent once per training run.
 *
 * @param engine            {@code nd4j} or {@code torch}
 * @param configurationJson the DL4J configuration (the nd4j engine builds from it)
 * @param arch              the architecture (the torch engine builds from it)
 * @param threads           libtorch intra-op threads per task (tasks x threads should not exceed the cores)
 */
public record EngineSpec(String engine, String configurationJson, String arch, int height, int width, int channels,
                         int numClasses, NetworkSpec.Settings settings, int threads) implements Serializable {
    public static final List<String> ENGINES = List.of("nd4j", "torch");

    public EngineSpec {
        engine = engine.toLowerCase(Locale.ROOT);
        if (!ENGINES.contains(engine)) {
            throw new IllegalArgumentException("engine must be one of " + String.join(", ", ENGINES) + " but was "
                    + engine);
        }
        if (engine.equals("torch") && (arch == null || settings == null)) {
            throw new IllegalArgumentException("the torch engine needs the architecture and training settings");
        }
    }

    /** The ND4J engine on a DL4J configuration (input shape set later by {@link #forInput}). */
    public static EngineSpec nd4j(String configurationJson) {
        return new EngineSpec("nd4j", configurationJson, null, 0, 0, 0, 0, null, 1);
    }

    /** This spec for images of the given shape (the training blocks know it). */
    public EngineSpec forInput(int h, int w, int c) {
        return h == height && w == width && c == channels ? this
                : new EngineSpec(engine, configurationJson, arch, h, w, c, numClasses, settings, threads);
    }

    /** A fresh network with the engine's own initial weights (callers set the weights they train from). */
    public EngineNetwork build() {
        if (engine.equals("torch")) {
            return new TorchNetwork(NetworkSpec.parse(arch), height, width, channels, numClasses, settings, threads);
        }
        io.sparkdl.backend.Nd4jBackend.init();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configurationJson));
        net.init();
        return new Nd4jNetwork(net, height, width, channels);
    }
}
