package io.sparkdl.engine;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** The ND4J engine: a DL4J {@link MultiLayerNetwork} behind {@link EngineNetwork}. */
public final class Nd4jNetwork implements EngineNetwork {
    private final MultiLayerNetwork net;
    private final long[] inputShape;

    public Nd4jNetwork(MultiLayerNetwork net, int height, int width, int channels) {
        this.net = net;
        inputShape = new long[]{channels, height, width};
    }

    public MultiLayerNetwork network() {
        return net;
    }

    @Override
    public int numParams() {
        return (int) net.numParams();
    }

    @Override
    public float[] params() {
        return net.params().toFloatVector();
    }

    @Override
    public void setParams(float[] p) {
        net.setParams(Nd4j.createFromArray(p).reshape(1, p.length));
    }

    @Override
    public float[] updaterState() {
        INDArray view = net.getUpdater().getStateViewArray();
        return view == null ? null : view.toFloatVector();
    }

    @Override
    public void setUpdaterState(float[] state) {
        INDArray view = net.getUpdater().getStateViewArray();
        if (view == null) {
            return;
        }
        if (state == null) {
            view.assign(0);
        } else {
            view.assign(Nd4j.createFromArray(state).reshape(view.shape()));
        }
    }

    @Override
    public void setIteration(int iteration, int epoch) {
        net.setIterationCount(iteration);
        net.setEpochCount(epoch);
    }

    @Override
    public void setSeed(long seed) {
        // dropout draws its masks from ND4J's per-thread generator
        Nd4j.getRandom().setSeed(seed);
    }

    @Override
    public double fit(float[] features, int[] labels, int n) {
        int classes = (int) net.getOutputLayer().getParam("b").length();
        float[] oneHot = new float[n * classes];
        for (int i = 0; i < n; i++) {
            oneHot[i * classes + labels[i]] = 1f;
        }
        net.fit(new DataSet(features(features, n), Nd4j.create(oneHot, new long[]{n, classes}, 'c')));
        return net.score();
    }

    @Override
    public float[] output(float[] features, int n) {
        return net.output(features(features, n), false).dup('c').data().asFloat();
    }

    private INDArray features(float[] f, int n) {
        return Nd4j.create(f, new long[]{n, inputShape[0], inputShape[1], inputShape[2]}, 'c');
    }

    @Override
    public void close() {
        // on-heap workspace memory; nothing to free
    }
}
