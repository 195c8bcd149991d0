package io.sparkdl.train;

/** Told on the driver about each epoch the {@link EpochDriver} finishes (progress lines, metrics, UIs). */
@FunctionalInterface
public interface TrainingListener {
    /** After an epoch's training and evaluation, before its checkpoint. */
    void onEpochEnd(EpochStats stats);
}
