package io.sparkdl.pipelines.bench;

import io.sparkdl.engine.EngineNetwork;

import io.sparkdl.pipelines.Idx;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Minibatches straight from IDX arrays (pixels / 255, one-hot labels) for the benchmarks that bypass Spark ML. */
final class IdxBatches {
    private IdxBatches() {
    }

    /** Images {@code order[from..from+count)} (or {@code from..from+count} when order is null) as NCHW floats. */
    static INDArray features(Idx.Images im, int[] order, int from, int count) {
        return Nd4j.create(pixels(im, order, from, count), new long[]{count, 1, im.rows(), im.cols()}, 'c');
    }

    /** {@link #features} as a plain NCHW float array. */
    static float[] pixels(Idx.Images im, int[] order, int from, int count) {
        int len = im.rows() * im.cols();
        float[] f = new float[count * len];
        for (int i = 0; i < count; i++) {
            byte[] p = im.pixels()[order == null ? from + i : order[from + i]];
            for (int k = 0; k < len; k++) {
                f[i * len + k] = (p[k] & 0xff) / 255f;
            }
        }
        return f;
    }

    /** The matching class indices. */
    static int[] labels(byte[] labels, int[] order, int from, int count) {
        int[] y = new int[count];
        for (int i = 0; i < count; i++) {
            y[i] = labels[order == null ? from + i : order[from + i]] & 0xff;
        }
        return y;
    }

    /** Accuracy of a network of either engine on all images, in batches of 256. */
    static double accuracy(EngineNetwork net, Idx.Images im, byte[] labels, int classes) {
        int correct = 0;
        for (int s = 0; s < labels.length; s += 256) {
            int b = Math.min(256, labels.length - s);
            float[] p = net.output(pixels(im, null, s, b), b);
            for (int i = 0; i < b; i++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (p[i * classes + c] > p[i * classes + best]) {
                        best = c;
                    }
                }
                correct += best == (labels[s + i] & 0xff) ? 1 : 0;
            }
        }
        return (double) correct / labels.length;
    }

    /** The matching labels, one-hot over {@code classes}. */
    static INDArray oneHot(byte[] labels, int[] order, int from, int count, int classes) {
        float[] f = new float[count * classes];
        for (int i = 0; i < count; i++) {
            f[i * classes + (labels[order == null ? from + i : order[from + i]] & 0xff)] = 1f;
        }
        return Nd4j.create(f, new long[]{count, classes}, 'c');
    }

    /** Accuracy of {@code net} on all images, in batches of 256. */
    static double accuracy(MultiLayerNetwork net, Idx.Images im, byte[] labels) {
        int correct = 0;
        for (int s = 0; s < labels.length; s += 256) {
            int b = Math.min(256, labels.length - s);
            long[] pred = net.output(features(im, null, s, b), false).argMax(1).toLongVector();
            for (int i = 0; i < b; i++) {
                if (pred[i] == (labels[s + i] & 0xff)) {
                    correct++;
                }
            }
        }
        return (double) correct / labels.length;
    }
}
