package io.sparkdl.classification;

import io.sparkdl.train.EpochStats;

import java.io.Serializable;
import java.util.List;

/**
 * What happened while a {@link CnnClassifierModel} was trained: one {@link EpochStats} per epoch (the
 * loss curve, accuracies and speed), rows skipped for lack of an image or label, and how it was
 * trained. Saved with the model.
 */
public record CnnTrainingSummary(List<EpochStats> history, long skippedRows, String strategy, int workers,
                                 int keptEpoch) implements Serializable {
    public CnnTrainingSummary {
        history = List.copyOf(history);
    }

    /** A summary whose model has the last epoch's weights. */
    public CnnTrainingSummary(List<EpochStats> history, long skippedRows, String strategy, int workers) {
        this(history, skippedRows, strategy, workers, history.isEmpty() ? 0 : history.get(history.size() - 1).epoch());
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
            b.append(String.format("%4d%s %9.4f %9.4f %9s %10.0f%n", e.epoch(),
                    e.epoch() == keptEpoch && keptEpoch != history.size() ? "*" : " ", e.loss(), e.trainAccuracy(),
                    Double.isNaN(e.validationAccuracy()) ? "n/a" : String.format("%.4f", e.validationAccuracy()),
                    e.imagesPerSecond()));
        }
        if (keptEpoch != history.size() && !history.isEmpty()) {
            b.append("* the model has this epoch's weights (best validation accuracy)\n");
        }
        return b.toString();
    }
}
