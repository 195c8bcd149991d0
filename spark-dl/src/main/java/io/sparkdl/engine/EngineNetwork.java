package io.sparkdl.engine;

/**
 * A network on one engine, as the training stages use it: one flat fp32 parameter vector and one flat updater
 * state vector (what parameter averaging averages), a step on a minibatch, and inference. Both engines use
 * DL4J's flat parameter layout for the same {@link io.sparkdl.nn.NetworkSpec}, so a parameter vector moves
 * between them unchanged; updater state layouts differ per engine. Not thread-safe.
 */
public interface EngineNetwork extends AutoCloseable {
    int numParams();

    float[] params();

    void setParams(float[] params);

    /** The updater state, or null when the updater keeps none (sgd). */
    float[] updaterState();

    /** Sets the updater state; null resets it to zeros. */
    void setUpdaterState(float[] state);

    /** Steps done so far and the current epoch: Adam's bias correction and learning rate schedules read them. */
    void setIteration(int iteration, int epoch);

    /** Seeds the draws of stochastic layers (dropout) for the next steps. */
    void setSeed(long seed);

    /**
     * One training step.
     *
     * @param features n images, NCHW, {@code n * channels * height * width} floats
     * @param labels   n class indices
     * @return the minibatch's mean loss
     */
    double fit(float[] features, int[] labels, int n);

    /** Class probabilities in inference mode, n x classes. */
    float[] output(float[] features, int n);

    @Override
    void close();
}
