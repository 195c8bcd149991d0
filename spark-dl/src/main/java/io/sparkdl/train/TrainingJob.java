package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;

import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.List;
import java.util.function.Consumer;

/**
 * Everything a {@link TrainingStrategy} needs. {@code train} and {@code validation} hold one
 * {@link ImageBlock} per partition and should be cached; {@code validation} may be null.
 *
 * @param updaterState starting updater state (Adam moments, momentum velocity), or null for fresh
 * @param onEpoch      called on the driver after each epoch (logging, history)
 * @param resume       where an interrupted run left off (null: start at epoch 1)
 * @param onCheckpoint called on the driver after each epoch with everything needed to resume (may be null)
 * @param normalization per-channel standardisation of every image the network sees (null: pixels / 255)
 * @param augmentation  random augmentation of training images, drawn afresh each epoch from
 *                      (seed, epoch, partition, image); never applied to validation images
 * @param earlyStoppingPatience with a validation set: stop after this many epochs without a better
 *                      validation accuracy and return the best epoch's weights; 0: train every epoch, keep the last
 * @param engine        the engine the workers train on (null: nd4j on {@code configurationJson})
 */
public record TrainingJob(JavaSparkContext sc, String configurationJson, float[] initialParams,
                          float[] updaterState, JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation,
                          int numClasses, int epochs, int batchSize, long seed, int trainAccuracySample,
                          Consumer<EpochStats> onEpoch, Checkpoint resume, Consumer<Checkpoint> onCheckpoint,
                          Normalization normalization, Augmentation augmentation, int earlyStoppingPatience,
                          EngineSpec engine) {

    public TrainingJob {
        engine = engine == null ? EngineSpec.nd4j(configurationJson) : engine;
        augmentation = augmentation == null ? Augmentation.NONE : augmentation;
        if (earlyStoppingPatience < 0) {
            throw new IllegalArgumentException("earlyStoppingPatience must be >= 0 but was " + earlyStoppingPatience);
        }
        if (earlyStoppingPatience > 0 && validation == null) {
            throw new IllegalArgumentException("early stopping (patience " + earlyStoppingPatience
                    + ") needs a validation set: set validationFraction or validationIndicatorCol");
        }
    }

    public TrainingJob(JavaSparkContext sc, String configurationJson, float[] initialParams, float[] updaterState,
                       JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation, int numClasses, int epochs,
                       int batchSize, long seed, int trainAccuracySample, Consumer<EpochStats> onEpoch,
                       Checkpoint resume, Consumer<Checkpoint> onCheckpoint) {
        this(sc, configurationJson, initialParams, updaterState, train, validation, numClasses, epochs, batchSize,
                seed, trainAccuracySample, onEpoch, resume, onCheckpoint, null, Augmentation.NONE, 0, null);
    }

    public TrainingJob(JavaSparkContext sc, String configurationJson, float[] initialParams, float[] updaterState,
                       JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation, int numClasses, int epochs,
                       int batchSize, long seed, int trainAccuracySample, Consumer<EpochStats> onEpoch) {
        this(sc, configurationJson, initialParams, updaterState, train, validation, numClasses, epochs, batchSize,
                seed, trainAccuracySample, onEpoch, null, null);
    }

    /**
     * The state after {@code epochsDone} completed epochs: weights, updater state, the driver's block
     * momentum velocity (null when unused), the global iteration count and the history so far.
     */
    public record Checkpoint(int epochsDone, int iteration, float[] params, float[] updaterState, float[] velocity,
                             List<EpochStats> history, int bestEpoch, float[] bestParams) {
        public Checkpoint(int epochsDone, int iteration, float[] params, float[] updaterState, float[] velocity,
                          List<EpochStats> history) {
            this(epochsDone, iteration, params, updaterState, velocity, history, 0, null);
        }
    }
}
