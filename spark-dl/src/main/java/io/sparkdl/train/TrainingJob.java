package io.sparkdl.train;

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
 */
public record TrainingJob(JavaSparkContext sc, String configurationJson, float[] initialParams,
                          float[] updaterState, JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation,
                          int numClasses, int epochs, int batchSize, long seed, int trainAccuracySample,
                          Consumer<EpochStats> onEpoch, Checkpoint resume, Consumer<Checkpoint> onCheckpoint) {

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
                             List<EpochStats> history) {
    }
}
