package io.sparkdl.engine;

import io.sparkdl.backend.Nd4jBackend;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/** The ND4J engine: DL4J's {@link MultiLayerNetwork} built from the spec's configuration JSON. */
public final class Nd4jEngine implements Engine {
    @Override
    public String name() {
        return "nd4j";
    }

    @Override
    public EngineNetwork build(EngineSpec spec) {
        Nd4jBackend.init();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(spec.configurationJson()));
        net.init();
        return new Nd4jNetwork(net, spec.height(), spec.width(), spec.channels());
    }
}
