package io.sparkdl.train;

import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.Random;

/**
 * Consecutive training images of one partition in one compact object: uint8 pixels in network layout
 * (image x channel x row x column) and int labels. A partition is a sequence of blocks of bounded size
 * ({@link ImageBlocks}), which is what the training RDD caches (spilling whole blocks to disk when memory runs
 * out), so a round reads its minibatches from the cache without touching rows again.
 */
public final class ImageBlock implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final float INV_255 = 1f / 255f;

    private final int size;
    private final int channels;
    private final int height;
    private final int width;
    private final byte[] pixels;
    private final int[] labels;

    public ImageBlock(int size, int channels, int height, int width, byte[] pixels, int[] labels) {
        long need = (long) size * channels * height * width;
        if (pixels.length != need || labels.length != size) {
            throw new IllegalArgumentException("block of " + size + " images of " + channels + "x" + height + "x"
                    + width + " needs " + need + " pixel bytes and " + size + " labels, got " + pixels.length
                    + " and " + labels.length);
        }
        this.size = size;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.pixels = pixels;
        this.labels = labels;
    }

    public int size() {
        return size;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** The pixel bytes (image x channel x row x column), not a copy. */
    public byte[] pixels() {
        return pixels;
    }

    /** The label indices, not a copy. */
    public int[] labels() {
        return labels;
    }

    public int label(int i) {
        return labels[i];
    }

    int imageLength() {
        return channels * height * width;
    }

    /**
     * The order in which a worker visits its partition's images (numbered across its blocks) in one epoch: a
     * seeded shuffle that depends only on
     * (seed, epoch, partition), so a re-run task (after a lost executor) replays the same minibatches.
     */
    public static int[] epochOrder(long seed, int epoch, int partition, int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random r = new Random(seed * 1_000_003L + epoch * 7_919L + partition * 104_729L);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** Features [to-from, C, H, W] scaled to [0,1], for images {@code order[from..to)}. */
    public INDArray features(int[] order, int from, int to) {
        return features(order, from, to, null, Augmentation.NONE, 0);
    }

    /**
     * Features [to-from, C, H, W] for images {@code order[from..to)}: augmented (image i drawing from
     * {@code Augmentation.random(augmentationSeed, i)}), then standardised by {@code norm} (null: [0, 1]).
     */
    public INDArray features(int[] order, int from, int to, Normalization norm, Augmentation aug,
                             long augmentationSeed) {
        return Nd4j.create(featureArray(order, from, to, norm, aug, augmentationSeed),
                new long[]{to - from, channels, height, width}, 'c');
    }

    /** {@link #features(int[], int, int, Normalization, Augmentation, long)} as a plain NCHW float array. */
    public float[] featureArray(int[] order, int from, int to, Normalization norm, Augmentation aug,
                                long augmentationSeed) {
        return featureArray(order, from, to, norm, aug, augmentationSeed, null);
    }

    /**
     * As {@link #featureArray(int[], int, int, Normalization, Augmentation, long)}, but image i draws its
     * augmentation as image {@code augmentationIds[i]} (null: i), so a block gathered from a partition's blocks
     * augments each image as the partition's image it is.
     */
    float[] featureArray(int[] order, int from, int to, Normalization norm, Augmentation aug, long augmentationSeed,
                         int[] augmentationIds) {
        int len = imageLength();
        float[] f = new float[(to - from) * len];
        boolean augment = aug != null && !aug.isNone();
        for (int b = from; b < to; b++) {
            int idx = order == null ? b : order[b];
            int src = idx * len;
            int dst = (b - from) * len;
            if (augment) {
                aug.apply(pixels, src, channels, height, width, f, dst, Augmentation.random(augmentationSeed,
                        augmentationIds == null ? idx : augmentationIds[idx]));
            } else {
                for (int k = 0; k < len; k++) {
                    f[dst + k] = (pixels[src + k] & 0xff) * INV_255;
                }
            }
        }
        if (norm != null) {
            norm.apply(f, to - from, channels, height * width);
        }
        return f;
    }

    /** Class indices of images {@code order[from..to)}. */
    public int[] labels(int[] order, int from, int to) {
        int[] y = new int[to - from];
        for (int b = from; b < to; b++) {
            y[b - from] = labels[order == null ? b : order[b]];
        }
        return y;
    }

    /** One-hot labels [to-from, numClasses]. */
    public INDArray oneHot(int[] order, int from, int to, int numClasses) {
        float[] f = new float[(to - from) * numClasses];
        for (int b = from; b < to; b++) {
            f[(b - from) * numClasses + labels[order == null ? b : order[b]]] = 1f;
        }
        return Nd4j.create(f, new long[]{to - from, numClasses}, 'c');
    }

    public DataSet dataSet(int[] order, int from, int to, int numClasses) {
        return new DataSet(features(order, from, to), oneHot(order, from, to, numClasses));
    }

    public DataSet dataSet(int[] order, int from, int to, int numClasses, Normalization norm, Augmentation aug,
                           long augmentationSeed) {
        return new DataSet(features(order, from, to, norm, aug, augmentationSeed),
                oneHot(order, from, to, numClasses));
    }
}
