package io.sparkdl.classification;

import io.sparkdl.train.EpochStats;

import java.io.Serializable;
import java.util.List;

/**
 * What happened while a {@link CnnClassifierModel} was trained: one {@link EpochStats} per epoch (the
 * loss curve, accuracies and speed), rows skipped for lack of an image or label, and how it was
 * trained. Saved with the model.
 */
public record CnnTrainingSummary(List<EpochStats> history, long skippedRows, String strategy, int workers)
        implements Serializable {
    public CnnTrainingSummary {
        history = List.copyOf(history);
    }

    /** Loss per epoch, in order. */
    public double[] lossCurve() {
        return history.stream().mapToDouble(EpochStats::loss).toArray();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Training summary (" + strategy + ", " + workers + " workers"
                + (skippedRows > 0 ? ", " + skippedRows + " rows skipped" : "") + ")\n");
        b.append(String.format("%5s %9s %9s %9s %10s%n", "epoch", "loss", "train acc", "val acc", "images/s"));
        for (EpochStats e : history) {
            b.append(String.format("%5d %9.4f %9.4f %9s %10.0f%n", e.epoch(), e.loss(), e.trainAccuracy(),
                    Double.isNaN(e.validationAccuracy()) ? "n/a" : String.format("%.4f", e.validationAccuracy()),
                    e.imagesPerSecond()));
        }
        return b.toString();
    }
}
