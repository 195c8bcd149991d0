package io.sparkdl.engine;

import io.sparkdl.nn.NetworkSpec;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What an executor needs to build a training network on either engine; sent once per training run.
 *
 * @param engine            {@code nd4j} or {@code torch}
 * @param configurationJson the DL4J configuration (the nd4j engine builds from it)
 * @param arch              the architecture (the torch engine builds from it)
 * @param threads           libtorch intra-op threads per task as the driver sees it (its cores / tasks at once):
 *                          used in local mode; on a cluster a task's spark.task.cpus (TorchThreads)
 * @param frozenLayers      the torch engine keeps the first N layers fixed (the nd4j engine reads frozen layers
 *                          from the configuration's updaters)
 * @param precision         {@code fp32}, or {@code bf16} (torch only: convolutions and matrix products in
 *                          bfloat16 on fp32 master weights)
 */
public record EngineSpec(String engine, String configurationJson, String arch, int height, int width, int channels,
                         int numClasses, NetworkSpec.Settings settings, int threads, int frozenLayers,
                         String precision) implements Serializable {
    public static final List<String> ENGINES = List.of("nd4j", "torch");
    public static final List<String> PRECISIONS = List.of("fp32", "bf16");

    public EngineSpec {
        engine = engine.toLowerCase(Locale.ROOT);
        if (!ENGINES.contains(engine)) {
            throw new IllegalArgumentException("engine must be one of " + String.join(", ", ENGINES) + " but was "
                    + engine);
        }
        if (engine.equals("torch") && (arch == null || settings == null)) {
            throw new IllegalArgumentException("the torch engine needs the architecture and training settings");
        }
        precision = precision.toLowerCase(Locale.ROOT);
        if (!PRECISIONS.contains(precision)) {
            throw new IllegalArgumentException("precision must be one of " + String.join(", ", PRECISIONS)
                    + " but was " + precision);
        }
        if (precision.equals("bf16") && !engine.equals("torch")) {
            throw new IllegalArgumentException("precision bf16 needs engine torch, but engine was " + engine);
        }
        if (frozenLayers < 0) {
            throw new IllegalArgumentException("frozenLayers must be >= 0 but was " + frozenLayers);
        }
    }

    /** An fp32 spec with no frozen layers. */
    public EngineSpec(String engine, String configurationJson, String arch, int height, int width, int channels,
                      int numClasses, NetworkSpec.Settings settings, int threads) {
        this(engine, configurationJson, arch, height, width, channels, numClasses, settings, threads, 0, "fp32");
    }

    /** The ND4J engine on a DL4J configuration (input shape set later by {@link #forInput}). */
    public static EngineSpec nd4j(String configurationJson) {
        return new EngineSpec("nd4j", configurationJson, null, 0, 0, 0, 0, null, 1);
    }

    /**
     * A spec to run a trained network on {@code engine} (its weights set afterwards): the optimiser settings are
     * irrelevant to inference, so neutral ones (sgd, no regularisation) are used.
     *
     * @param threads libtorch intra-op threads per task
     */
    public static EngineSpec inference(String engine, String configurationJson, String arch, int height, int width,
                                       int channels, int numClasses, int threads) {
        return new EngineSpec(engine, configurationJson, arch, height, width, channels, numClasses,
                INFERENCE_SETTINGS, threads);
    }

    /** The settings an inference network is built with (see {@link #inference}). */
    public static final NetworkSpec.Settings INFERENCE_SETTINGS = new NetworkSpec.Settings("sgd", 0.01, 0, 0, 0);

    /** This spec for images of the given shape (the training blocks know it). */
    public EngineSpec forInput(int h, int w, int c) {
        return h == height && w == width && c == channels ? this
                : new EngineSpec(engine, configurationJson, arch, h, w, c, numClasses, settings, threads, frozenLayers,
                precision);
    }

    /** A fresh network with the engine's own initial weights (callers set the weights they train from). */
    public EngineNetwork build() {
        Engine e = Installed.BY_NAME.get(engine);
        if (e == null) {
            throw new IllegalStateException("engine " + engine + " is not installed: no " + Engine.class.getName()
                    + " named " + engine + " in META-INF/services on the classpath (found "
                    + Installed.BY_NAME.keySet() + ")");
        }
        return e.build(this);
    }

    /** The engines on the classpath, looked up once per JVM (driver and executors). */
    private static final class Installed {
        static final Map<String, Engine> BY_NAME = ServiceLoader.load(Engine.class, EngineSpec.class.getClassLoader())
                .stream().map(ServiceLoader.Provider::get).collect(Collectors.toMap(Engine::name, Function.identity()));
    }
}
