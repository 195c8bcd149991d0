package io.sparkdl.engine;

/**
 * A network that also answers what the inference-side tools ask beyond class probabilities: one layer's
 * activations (embeddings, {@code CnnFeaturizer}) and the gradient of a class score with respect to the input
 * (saliency maps), both in inference mode (dropout off, batch normalisation on its running statistics). The
 * torch engine implements it with libtorch's autograd; the nd4j engine's stages use DL4J's network directly.
 */
public interface InspectableNetwork extends EngineNetwork {
    /** The number of layers (as in the {@link io.sparkdl.nn.NetworkSpec}; the output layer is the last). */
    int numLayers();

    /**
     * The output of layer {@code layer} (0-based) in inference mode, n rows each flattened in NCHW order, as
     * DL4J's {@code feedForwardToLayer(layer, x, false).get(layer + 1)} gives it.
     */
    float[] activation(float[] features, int n, int layer);

    /**
     * d score / d input for each of the n images, NCHW: the score is class {@code classIndex}'s logit (the output
     * layer's value before softmax) in inference mode.
     */
    float[] classScoreGradient(float[] features, int n, int classIndex);
}
