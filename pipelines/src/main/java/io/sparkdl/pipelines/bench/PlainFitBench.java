package io.sparkdl.pipelines.bench;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.pipelines.Idx;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.util.Random;

/**
 * Baseline for scripts/bench-train: plain single-process DL4J {@code MultiLayerNetwork.fit} on the
 * same network configuration spark-dl builds, minibatches made from the IDX files in memory (so no
 * Spark, no decoding). Prints one line: {@code plain-fit images_per_second=... test_accuracy=...}.
 *
 * <p>Args: DATA_DIR EPOCHS BATCH LEARNING_RATE SEED [TRAIN_LIMIT [ARCH]]
 */
public final class PlainFitBench {
    private PlainFitBench() {
    }

    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        int epochs = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        double lr = Double.parseDouble(args[3]);
        long seed = Long.parseLong(args[4]);
        System.err.println("plain-fit backend: " + Nd4jBackend.init());
        Idx.Images train = Idx.readImages(new File(dir, "train-images-idx3-ubyte.gz"));
        byte[] trainLabels = Idx.readLabels(new File(dir, "train-labels-idx1-ubyte.gz"));
        Idx.Images test = Idx.readImages(new File(dir, "t10k-images-idx3-ubyte.gz"));
        byte[] testLabels = Idx.readLabels(new File(dir, "t10k-labels-idx1-ubyte.gz"));

        MultiLayerNetwork net = new MultiLayerNetwork(NetworkSpec.parse(args.length > 6 ? args[6] : "lenet").toConfiguration(28, 28, 1, 10,
                new NetworkSpec.Settings("adam", lr, 0.9, 0.0, seed)));
        net.init();
        int n = args.length > 5 ? Math.min(train.pixels().length, Integer.parseInt(args[5])) : train.pixels().length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random rnd = new Random(seed);
        long trainNanos = 0;
        long images = 0;
        for (int e = 0; e < epochs; e++) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            long t0 = System.nanoTime();
            for (int s = 0; s < n; s += batch) {
                int b = Math.min(batch, n - s);
                net.fit(new DataSet(features(train, order, s, b), oneHot(trainLabels, order, s, b)));
            }
            long dt = System.nanoTime() - t0;
            trainNanos += dt;
            images += n;
            System.err.printf("plain-fit epoch %d: %.0f images/s, loss %.4f%n", e + 1, n / (dt / 1e9), net.score());
        }
        int correct = 0;
        int m = test.pixels().length;
        for (int s = 0; s < m; s += 256) {
            int b = Math.min(256, m - s);
            INDArray pred = net.output(features(test, null, s, b), false).argMax(1);
            for (int i = 0; i < b; i++) {
                if (pred.getInt(i) == (testLabels[s + i] & 0xff)) {
                    correct++;
                }
            }
        }
        System.out.printf("plain-fit images_per_second=%.1f test_accuracy=%.4f epochs=%d%n",
                images / (trainNanos / 1e9), (double) correct / m, epochs);
    }

    private static INDArray features(Idx.Images im, int[] order, int from, int b) {
        int len = im.rows() * im.cols();
        float[] f = new float[b * len];
        for (int i = 0; i < b; i++) {
            byte[] p = im.pixels()[order == null ? from + i : order[from + i]];
            for (int k = 0; k < len; k++) {
                f[i * len + k] = (p[k] & 0xff) / 255f;
            }
        }
        return Nd4j.create(f, new long[]{b, 1, im.rows(), im.cols()}, 'c');
    }

    private static INDArray oneHot(byte[] labels, int[] order, int from, int b) {
        float[] f = new float[b * 10];
        for (int i = 0; i < b; i++) {
            f[i * 10 + (labels[order[from + i]] & 0xff)] = 1f;
        }
        return Nd4j.create(f, new long[]{b, 10}, 'c');
    }
}
