package io.sparkdl.train;

import java.util.List;

/**
 * Weights, updater state and per-epoch history at the end of training.
 *
 * @param keptEpoch the epoch whose weights {@code params} are (the best by validation accuracy under
 *                  early stopping, else the last)
 */
public record TrainingResult(float[] params, float[] updaterState, List<EpochStats> history, int keptEpoch) {
    public TrainingResult(float[] params, float[] updaterState, List<EpochStats> history) {
        this(params, updaterState, history, history.isEmpty() ? 0 : history.get(history.size() - 1).epoch());
    }
}
