package io.sparkdl.train;

/**
 * What a {@link TrainingStrategy} produced in one epoch.
 *
 * @param velocity  the strategy's state to carry into the next epoch (block momentum's velocity), or null
 * @param iteration minibatch steps after the epoch
 * @param loss      mean training loss over the epoch's minibatches as the workers saw them (NaN: none ran)
 * @param examples  training images the epoch fitted
 */
public record EpochResult(float[] params, float[] updaterState, float[] velocity, int iteration, double loss,
                          long examples) {
}
