package io.sparkdl.train;

import org.apache.spark.network.util.JavaUtils;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Cuts a partition's images into bounded {@link ImageBlock}s, lazily: each block holds at most
 * {@code blockBytes} pixel bytes (at least one image), and only the block being filled is in memory, so Spark
 * can cache a partition of any size block by block and spill what does not fit to disk. The images keep their
 * order: block k holds the partition's images {@code [k * perBlock, (k + 1) * perBlock)}, so the partition is
 * still one sequence of images numbered 0..n-1, which is what the epoch order and augmentation draws index.
 *
 * <p>The budget is the Spark setting {@value #BLOCK_BYTES_CONF} (a size such as {@code 16m}; default
 * {@value #DEFAULT_BLOCK_BYTES} bytes, 16 MiB). Spark checks the memory of a partition being cached only every 16
 * elements ({@code spark.storage.unrollMemoryCheckPeriod}), so up to 16 blocks can be in memory before it decides
 * to spill: 16 MiB keeps that within a default 1 GiB executor.
 */
public final class ImageBlocks {
    /** The Spark setting for the largest block's pixel bytes. */
    public static final String BLOCK_BYTES_CONF = "spark.sparkdl.train.blockBytes";
    /** 16 MiB: about 111 RGB images of 224x224 per block. */
    public static final long DEFAULT_BLOCK_BYTES = 16L << 20;
    /** The largest Java byte array this code allocates. */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private ImageBlocks() {
    }

    /** One decoded image in network layout (channel x row x column) and its class index. */
    public record LabelledImage(byte[] pixels, int label) {
    }

    /**
     * The block budget from a Spark setting's value (null or empty: the default).
     *
     * @throws IllegalArgumentException naming {@value #BLOCK_BYTES_CONF} when the value is not a size of at least
     *                                  1 byte and at most 2 GiB - 9
     */
    public static long blockBytes(String setting) {
        long bytes = size(BLOCK_BYTES_CONF, setting, DEFAULT_BLOCK_BYTES);
        if (bytes < 1 || bytes > MAX_ARRAY) {
            throw new IllegalArgumentException(BLOCK_BYTES_CONF + " = '" + setting + "' must be between 1 byte and "
                    + MAX_ARRAY + " bytes but is " + bytes);
        }
        return bytes;
    }

    /**
     * A size setting's value in bytes (null or empty: {@code defaultBytes}).
     *
     * @throws IllegalArgumentException naming {@code conf} when the value is not a size
     */
    static long size(String conf, String setting, long defaultBytes) {
        if (setting == null || setting.isBlank()) {
            return defaultBytes;
        }
        try {
            return JavaUtils.byteStringAsBytes(setting.trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(conf + " = '" + setting
                    + "' is not a size (bytes, or with a unit: 512k, 16m)", e);
        }
    }

    /** Images per block for images of {@code imageBytes} bytes: as many as fit, and at least one. */
    public static int imagesPerBlock(long blockBytes, int imageBytes) {
        if (imageBytes < 1) {
            throw new IllegalArgumentException("an image must have at least one byte but has " + imageBytes);
        }
        return (int) Math.max(1, Math.min(blockBytes, MAX_ARRAY) / imageBytes);
    }

    /**
     * The images as blocks of {@link #imagesPerBlock} images each (the last one smaller), made as they are
     * iterated; no images give no blocks.
     */
    public static Iterator<ImageBlock> cut(Iterator<LabelledImage> images, int channels, int height, int width,
                                           long blockBytes) {
        long imageBytes = (long) channels * height * width;
        if (imageBytes > MAX_ARRAY) {
            throw new IllegalArgumentException("images of " + channels + "x" + height + "x" + width
                    + " are too big for a Java array");
        }
        int perBlock = imagesPerBlock(blockBytes, (int) imageBytes);
        int len = (int) imageBytes;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return images.hasNext();
            }

            @Override
            public ImageBlock next() {
                if (!images.hasNext()) {
                    throw new NoSuchElementException();
                }
                byte[] px = null;
                int[] labels = new int[Math.min(perBlock, 1024)];
                int n = 0;
                while (n < perBlock && images.hasNext()) {
                    LabelledImage im = images.next();
                    if (im.pixels().length != len) {
                        throw new IllegalArgumentException("an image of " + im.pixels().length + " bytes in a block of "
                                + channels + "x" + height + "x" + width + " images (" + len + " bytes each)");
                    }
                    if (px == null) {
                        // a full block's array up front; only a partition's last block is trimmed
                        px = new byte[perBlock * len];
                    }
                    if (n == labels.length) {
                        labels = Arrays.copyOf(labels, (int) Math.min(perBlock, 2L * n));
                    }
                    System.arraycopy(im.pixels(), 0, px, n * len, len);
                    labels[n++] = im.label();
                }
                if (px == null) {
                    px = new byte[0];
                }
                return new ImageBlock(n, channels, height, width,
                        px.length == n * len ? px : Arrays.copyOf(px, n * len), Arrays.copyOf(labels, n));
            }
        };
    }
}
