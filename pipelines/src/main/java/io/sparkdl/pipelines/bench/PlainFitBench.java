package io.sparkdl.pipelines.bench;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.pipelines.Idx;
import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;

import java.io.File;
import java.util.Random;

/**
 * Baseline for scripts/bench-train: plain single-process DL4J {@code MultiLayerNetwork.fit} on the
 * same network configuration spark-dl builds, minibatches made from the IDX files in memory (so no
 * Spark, no decoding). Prints one line: {@code plain-fit images_per_second=... test_accuracy=...}.
 *
 * <p>Args: DATA_DIR EPOCHS BATCH LEARNING_RATE SEED [TRAIN_LIMIT [ARCH [ENGINE [THREADS [PRECISION]]]]]; ENGINE
 * nd4j (default) or torch, THREADS libtorch's intra-op threads (default: all cores; nd4j takes OMP_NUM_THREADS),
 * PRECISION fp32 (default) or bf16 (torch only; fp32 with a warning where the CPU has no native bf16).
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

        String arch = args.length > 6 ? args[6] : "lenet";
        String engine = args.length > 7 ? args[7] : "nd4j";
        int threads = args.length > 8 ? Integer.parseInt(args[8]) : Runtime.getRuntime().availableProcessors();
        String asked = args.length > 9 ? args[9] : "fp32";
        // what runs: bf16 falls back to fp32 (with a warning) on CPUs without native bf16
        String precision = asked.equals("bf16") && !io.sparkdl.engine.torch.TorchRuntime.nativeBf16() ? "fp32"
                : asked;
        NetworkSpec.Settings settings = new NetworkSpec.Settings("adam", lr, 0.9, 0.0, seed);
        String conf = NetworkSpec.parse(arch).toConfiguration(28, 28, 1, 10, settings).toJson();
        EngineNetwork net = new EngineSpec(engine, conf, arch, 28, 28, 1, 10, settings, threads, 0, asked).build();
        System.err.println("plain-fit engine " + engine + (engine.equals("torch") ? ", " + threads + " threads, "
                + precision : ""));
        int n = args.length > 5 ? Math.min(train.pixels().length, Integer.parseInt(args[5])) : train.pixels().length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random rnd = new Random(seed);
        long trainNanos = 0;
        long images = 0;
        double loss = Double.NaN;
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
                loss = net.fit(IdxBatches.pixels(train, order, s, b), IdxBatches.labels(trainLabels, order, s, b), b);
            }
            long dt = System.nanoTime() - t0;
            trainNanos += dt;
            images += n;
            System.err.printf("plain-fit epoch %d: %.0f images/s, loss %.4f%n", e + 1, n / (dt / 1e9), loss);
        }
        System.out.printf("plain-fit images_per_second=%.1f test_accuracy=%.4f epochs=%d engine=%s precision=%s%n",
                images / (trainNanos / 1e9), IdxBatches.accuracy(net, test, testLabels, 10), epochs, engine,
                precision);
        net.close();
    }
}
