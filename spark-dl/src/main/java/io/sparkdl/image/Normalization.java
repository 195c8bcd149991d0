package io.sparkdl.image;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Per-channel standardisation of pixel values read in [0, 1]: {@code (x - mean[c]) / std[c]}. Fitted by
 * {@link ImageNormalizer} on a training set; a {@link io.sparkdl.classification.CnnClassifierModel}
 * keeps the one it was trained with and applies it to every image it sees.
 */
public final class Normalization implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double[] mean;
    private final double[] std;

    public Normalization(double[] mean, double[] std) {
        if (mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("normalization needs one mean and one std per channel, got "
                    + mean.length + " and " + std.length);
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || !Double.isFinite(mean[i])) {
                throw new IllegalArgumentException("normalization channel " + i + " has mean " + mean[i]
                        + " and std " + std[i] + "; the std must be > 0");
            }
        }
        this.mean = mean.clone();
        this.std = std.clone();
    }

    public int channels() {
        return mean.length;
    }

    public double[] mean() {
        return mean.clone();
    }

    public double[] std() {
        return std.clone();
    }

    /**
     * One channel-planar uint8 image as the network reads it: pixels / 255, then standardised by
     * {@code norm} unless it is null.
     */
    public static float[] toInput(byte[] planar, int channels, int pixelsPerChannel, Normalization norm) {
        float[] x = new float[planar.length];
        for (int k = 0; k < x.length; k++) {
            x[k] = (planar[k] & 0xff) / 255f;
        }
        if (norm != null) {
            norm.apply(x, 1, channels, pixelsPerChannel);
        }
        return x;
    }

    /** Standardises {@code n} channel-planar images of {@code channels x pixelsPerChannel} floats in place. */
    public void apply(float[] x, int n, int channels, int pixelsPerChannel) {
        if (channels != mean.length) {
            throw new IllegalArgumentException("normalization was fitted on " + mean.length
                    + "-channel images but is applied to " + channels + "-channel images");
        }
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < channels; c++) {
                float m = (float) mean[c];
                float inv = (float) (1 / std[c]);
                int base = (i * channels + c) * pixelsPerChannel;
                for (int k = base; k < base + pixelsPerChannel; k++) {
                    x[k] = (x[k] - m) * inv;
                }
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(n.mean, mean) && Arrays.equals(n.std, std);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std);
    }
}
