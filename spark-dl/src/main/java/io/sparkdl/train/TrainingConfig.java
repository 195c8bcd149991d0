package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;

import java.util.Objects;

/**
 * How long and on what a fit trains; the distributed algorithm is the {@link TrainingStrategy}'s.
 *
 * @param engine                the engine the workers train on and the network it builds
 * @param seed                  the minibatch order, augmentation draws and dropout masks derive from it
 * @param trainAccuracySample   at most this many training images (in all) measure each epoch's train accuracy
 * @param earlyStoppingPatience with a validation set: stop after this many epochs without a better
 *                              validation accuracy and return the best epoch's weights; 0: train every epoch,
 *                              keep the last
 */
public record TrainingConfig(EngineSpec engine, int epochs, int batchSize, long seed, int trainAccuracySample,
                             int earlyStoppingPatience) {

    public TrainingConfig {
        Objects.requireNonNull(engine, "engine");
        if (epochs < 0) {
            throw new IllegalArgumentException("epochs must be >= 0 but was " + epochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1 but was " + batchSize);
        }
        if (earlyStoppingPatience < 0) {
            throw new IllegalArgumentException("earlyStoppingPatience must be >= 0 but was " + earlyStoppingPatience);
        }
    }

    /** No early stopping. */
    public TrainingConfig(EngineSpec engine, int epochs, int batchSize, long seed, int trainAccuracySample) {
        this(engine, epochs, batchSize, seed, trainAccuracySample, 0);
    }
}
