package io.sparkdl.train;

import java.util.List;

/** Weights, updater state and per-epoch history at the end of training. */
public record TrainingResult(float[] params, float[] updaterState, List<EpochStats> history) {
}
