package io.sparkdl.engine.torch;

import io.sparkdl.engine.Engine;
import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
import io.sparkdl.nn.NetworkSpec;

/**
 * The libtorch engine: a {@link TorchNetwork} built from the spec's architecture and settings, with the
 * intra-op threads {@link TorchThreads} picks for this JVM (a task's cpus on a cluster).
 */
public final class TorchEngine implements Engine {
    @Override
    public String name() {
        return "torch";
    }

    @Override
    public EngineNetwork build(EngineSpec spec) {
        return new TorchNetwork(NetworkSpec.parse(spec.arch()), spec.height(), spec.width(), spec.channels(),
                spec.numClasses(), spec.settings(), TorchThreads.forThisJvm(spec.threads()), spec.frozenLayers(),
                spec.precision().equals("bf16"));
    }
}
