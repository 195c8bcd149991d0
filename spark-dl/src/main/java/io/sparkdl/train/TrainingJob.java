package io.sparkdl.train;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.function.Consumer;

/**
 * Everything a {@link TrainingStrategy} needs. {@code train} and {@code validation} hold one
 * {@link ImageBlock} per partition and should be cached; {@code validation} may be null.
 *
 * @param updaterState starting updater state (Adam moments, momentum velocity), or null for fresh
 * @param onEpoch      called on the driver after each epoch (logging, history, checkpoints)
 */
public record TrainingJob(JavaSparkContext sc, String configurationJson, float[] initialParams,
                          float[] updaterState, JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation,
                          int numClasses, int epochs, int batchSize, long seed, int trainAccuracySample,
                          Consumer<EpochStats> onEpoch) {
}
