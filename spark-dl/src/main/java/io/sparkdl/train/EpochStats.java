package io.sparkdl.train;

import java.io.Serializable;

/**
 * Figures of one training epoch.
 *
 * @param loss               mean training loss over the epoch's minibatches (as the workers saw them)
 * @param trainAccuracy      accuracy of the end-of-epoch weights on (a sample of) the training set
 * @param validationAccuracy accuracy of the end-of-epoch weights on the validation set; NaN without one
 * @param imagesPerSecond    training images per second of wall time, training rounds only (no decoding,
 *                           no evaluation)
 */
public record EpochStats(int epoch, double loss, double trainAccuracy, double validationAccuracy,
                         double imagesPerSecond, double seconds) implements Serializable {
    @Override
    public String toString() {
        return String.format("epoch %d: loss %.4f, train accuracy %.4f, validation accuracy %s, %.0f images/s, %.1f s",
                epoch, loss, trainAccuracy, Double.isNaN(validationAccuracy) ? "n/a"
                        : String.format("%.4f", validationAccuracy), imagesPerSecond, seconds);
    }
}
