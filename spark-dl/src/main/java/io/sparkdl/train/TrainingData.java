package io.sparkdl.train;

import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.Objects;

/**
 * What a fit trains on: one {@link ImageBlock} per partition of the training set and, optionally, of a
 * validation set (both should be cached), and how every image is presented to the network.
 *
 * @param validation    evaluated after each epoch, never trained on; null: none
 * @param normalization per-channel standardisation of every image the network sees (null: pixels / 255)
 * @param augmentation  random augmentation of training images, drawn afresh each epoch from
 *                      (seed, epoch, partition, image); never applied to validation images (null: none)
 */
public record TrainingData(JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation, int numClasses,
                           Normalization normalization, Augmentation augmentation) {

    public TrainingData {
        Objects.requireNonNull(train, "training blocks");
        augmentation = augmentation == null ? Augmentation.NONE : augmentation;
    }

    /** Plain pixels / 255, no augmentation. */
    public TrainingData(JavaRDD<ImageBlock> train, JavaRDD<ImageBlock> validation, int numClasses) {
        this(train, validation, numClasses, null, Augmentation.NONE);
    }

    JavaSparkContext sc() {
        return JavaSparkContext.fromSparkContext(train.context());
    }
}
