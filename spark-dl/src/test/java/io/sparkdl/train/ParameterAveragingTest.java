package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;
import io.sparkdl.engine.torch.TorchNetwork;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParameterAveragingTest {
    private static final int N = 150;
    private static final int CLASSES = 3;

    static ImageBlock syntheticBlock(long seed, int n) {
        Random r = new Random(seed);
        byte[] px = new byte[n * 12 * 12];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(CLASSES);
            for (int k = 0; k < 144; k++) {
                // class-dependent bright band plus noise: learnable, not trivial
                int row = k / 12;
                int base = row / 4 == labels[i] ? 180 : 40;
                px[i * 144 + k] = (byte) Math.max(0, Math.min(255, base + r.nextInt(60) - 30));
            }
        }
        return new ImageBlock(n, 1, 12, 12, px, labels);
    }

    static MultiLayerConfiguration conf(String updater) {
        return NetworkSpec.parse("""
                {"layers": [{"type": "conv", "filters": 4, "kernel": 3}, {"type": "maxpool", "kernel": 2},
                            {"type": "dense", "units": 12}, {"type": "output"}]}""")
                .toConfiguration(12, 12, 1, CLASSES, new NetworkSpec.Settings(updater, 0.01, 0.9, 0, 11));
    }

    @Test
    void aNonFiniteLossOrWeightEndsTrainingNamingTheEpoch() {
        ParameterAveraging.checkFinite(12.5, new float[]{1f, -2f}, 1, 1, 3);
        String loss = org.junit.jupiter.api.Assertions.assertThrows(
                TrainingDivergedException.class,
                () -> ParameterAveraging.checkFinite(Double.NaN, new float[]{1f}, 3, 2, 4)).getMessage();
        org.junit.jupiter.api.Assertions.assertTrue(loss.startsWith("training diverged in epoch 3 (averaging round 2 "
                + "of 4): the loss is no longer finite; nothing was saved"), loss);
        String weights = org.junit.jupiter.api.Assertions.assertThrows(
                TrainingDivergedException.class,
                () -> ParameterAveraging.checkFinite(1.0, new float[]{1f, Float.POSITIVE_INFINITY}, 1, 1, 1)).getMessage();
        org.junit.jupiter.api.Assertions.assertTrue(weights.contains("the weights are no longer finite"), weights);
    }

    @Test
    void oneWorkerEqualsSingleProcessFit() {
        for (String updater : new String[]{"adam", "momentum"}) {
            ImageBlock block = syntheticBlock(5, N);
            MultiLayerConfiguration conf = conf(updater);
            MultiLayerNetwork init = new MultiLayerNetwork(conf.clone());
            init.init();
            float[] start = init.params().toFloatVector();
            int epochs = 2;
            int batch = 16;
            long seed = 99;

            JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
            JavaRDD<ImageBlock> rdd = sc.parallelize(List.of(block), 1).cache();
            List<EpochStats> seen = new ArrayList<>();
            TrainingResult r = new EpochDriver(new ParameterAveraging(3, 2),
                    new TrainingConfig(EngineSpec.nd4j(conf.toJson()), epochs, batch, seed, 1000))
                    .addListener(seen::add).train(new TrainingData(rdd, null, CLASSES), TrainingState.start(start, null));

            MultiLayerNetwork local = new MultiLayerNetwork(conf.clone());
            local.init();
            local.setParams(init.params().dup());
            for (int e = 0; e < epochs; e++) {
                int[] order = ImageBlock.epochOrder(seed, e, 0, N);
                for (int s = 0; s < N; s += batch) {
                    local.fit(block.dataSet(order, s, Math.min(N, s + batch), CLASSES));
                }
            }
            assertSameTraining(updater, local.params().toFloatVector(), r.params(), start);
            assertEquals(epochs, seen.size());
            assertEquals(epochs, r.history().size());
            rdd.unpersist();
        }
    }

    /** The same on the torch engine: one worker's rounds are exactly a single TorchNetwork's fit. */
    @Test
    void oneWorkerEqualsSingleProcessFitOnTorch() {
        String arch = """
                {"layers": [{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batchnorm"},
                            {"type": "maxpool", "kernel": 2}, {"type": "dense", "units": 12}, {"type": "output"}]}""";
        for (String updater : new String[]{"adam", "nesterov"}) {
            ImageBlock block = syntheticBlock(5, N);
            NetworkSpec.Settings settings = new NetworkSpec.Settings(updater, 0.01, 0.9, 0, 11);
            MultiLayerConfiguration conf = NetworkSpec.parse(arch).toConfiguration(12, 12, 1, CLASSES, settings);
            MultiLayerNetwork init = new MultiLayerNetwork(conf.clone());
            init.init();
            float[] start = init.params().toFloatVector(); // DL4J's init: the engines share the layout
            int epochs = 2;
            int batch = 16;
            long seed = 99;
            EngineSpec engine = new EngineSpec("torch", conf.toJson(), arch, 12, 12, 1, CLASSES, settings, 1);

            JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
            JavaRDD<ImageBlock> rdd = sc.parallelize(List.of(block), 1).cache();
            TrainingResult r = new EpochDriver(new ParameterAveraging(3, 2),
                    new TrainingConfig(engine, epochs, batch, seed, 1000))
                    .train(new TrainingData(rdd, null, CLASSES), TrainingState.start(start, null));

            try (TorchNetwork local = new TorchNetwork(NetworkSpec.parse(arch), 12, 12, 1, CLASSES, settings, 1)) {
                local.setParams(start);
                for (int e = 0; e < epochs; e++) {
                    local.setIteration(local.updater().iteration(), e);
                    int[] order = ImageBlock.epochOrder(seed, e, 0, N);
                    for (int s = 0; s < N; s += batch) {
                        int end = Math.min(N, s + batch);
                        local.fit(block.featureArray(order, s, end, null, null, 0), block.labels(order, s, end),
                                end - s);
                    }
                }
                assertSameTraining(updater, local.params(), r.params(), start);
                assertEquals(local.updater().stateSize(), r.updaterState().length);
            }
            assertEquals(epochs, r.history().size());
            assertTrue(r.history().get(epochs - 1).trainAccuracy() > 0.6,
                    "train accuracy " + r.history().get(epochs - 1).trainAccuracy());
            rdd.unpersist();
        }
    }

    /**
     * Two workers, SGD, averaging after every minibatch, equal data per worker: the mean of the two
     * updates is one SGD step on the union of the two minibatches (the loss is a per-example mean). This
     * fails if a worker kept its own weights instead of the broadcast ones.
     */
    @Test
    void averagingEveryStepEqualsPlainSgdOnTheCombinedBatch() {
        int n = 96;
        int batch = 8;
        long seed = 4;
        ImageBlock b0 = syntheticBlock(21, n);
        ImageBlock b1 = syntheticBlock(22, n);
        MultiLayerConfiguration conf = conf("sgd");
        MultiLayerNetwork init = new MultiLayerNetwork(conf.clone());
        init.init();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        JavaRDD<ImageBlock> rdd = sc.parallelize(List.of(b0, b1), 2).cache();
        TrainingResult r = train(new ParameterAveraging(1, 2), conf, init, rdd, null, 2, batch, seed);

        MultiLayerNetwork local = new MultiLayerNetwork(conf.clone());
        local.init();
        local.setParams(init.params().dup());
        for (int e = 0; e < 2; e++) {
            int[] o0 = ImageBlock.epochOrder(seed, e, 0, n);
            int[] o1 = ImageBlock.epochOrder(seed, e, 1, n);
            for (int s = 0; s < n; s += batch) {
                var d0 = b0.dataSet(o0, s, s + batch, CLASSES);
                var d1 = b1.dataSet(o1, s, s + batch, CLASSES);
                local.fit(org.nd4j.linalg.dataset.DataSet.merge(List.of(d0, d1)));
            }
        }
        float[] expected = local.params().toFloatVector();
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - r.params()[i]));
        }
        assertTrue(maxDiff < 1e-4, "max parameter difference " + maxDiff);
        rdd.unpersist();
    }

    /**
     * Block momentum mu, SGD, averaging after every minibatch: each round starts from the look-ahead
     * w + mu v, the averaged displacement G updates v = mu v + G and w = w + v. That is Nesterov momentum
     * on the combined batch; the reference below runs it with a local network. It fails if the workers
     * start from w instead of the look-ahead, or if the driver drops the velocity.
     */
    @Test
    void blockMomentumIsNesterovMomentumOnTheAveragedUpdate() {
        int n = 64;
        int batch = 8;
        long seed = 6;
        float mu = 0.5f;
        ImageBlock b0 = syntheticBlock(31, n);
        ImageBlock b1 = syntheticBlock(32, n);
        MultiLayerConfiguration conf = conf("sgd");
        MultiLayerNetwork init = new MultiLayerNetwork(conf.clone());
        init.init();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        JavaRDD<ImageBlock> rdd = sc.parallelize(List.of(b0, b1), 2).cache();
        TrainingResult r = train(new ParameterAveraging(1, 2, mu), conf, init, rdd, null, 2, batch, seed);

        MultiLayerNetwork local = new MultiLayerNetwork(conf.clone());
        local.init();
        float[] w = init.params().toFloatVector();
        float[] v = new float[w.length];
        float[] plain = null;
        for (int e = 0; e < 2; e++) {
            int[] o0 = ImageBlock.epochOrder(seed, e, 0, n);
            int[] o1 = ImageBlock.epochOrder(seed, e, 1, n);
            for (int s = 0; s < n; s += batch) {
                float[] ahead = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    ahead[i] = w[i] + mu * v[i];
                }
                local.setParams(org.nd4j.linalg.factory.Nd4j.createFromArray(ahead).reshape(1, ahead.length));
                local.fit(org.nd4j.linalg.dataset.DataSet.merge(List.of(b0.dataSet(o0, s, s + batch, CLASSES),
                        b1.dataSet(o1, s, s + batch, CLASSES))));
                float[] after = local.params().toFloatVector();
                for (int i = 0; i < w.length; i++) {
                    v[i] = mu * v[i] + (after[i] - ahead[i]);
                    w[i] += v[i];
                }
            }
        }
        double maxDiff = 0;
        double fromPlain = 0;
        TrainingResult noMomentum = train(new ParameterAveraging(1, 2, 0), conf, init, rdd, null, 2, batch, seed);
        plain = noMomentum.params();
        for (int i = 0; i < w.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(w[i] - r.params()[i]));
            fromPlain = Math.max(fromPlain, Math.abs(plain[i] - r.params()[i]));
        }
        assertTrue(maxDiff < 1e-4, "max parameter difference " + maxDiff);
        assertTrue(fromPlain > 100 * maxDiff, "momentum must matter: differs from plain averaging by " + fromPlain);
        rdd.unpersist();
    }

    @Test
    void twoWorkersLearnAndReportHistory() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        JavaRDD<ImageBlock> rdd = sc.parallelize(List.of(syntheticBlock(1, 300), syntheticBlock(2, 280)), 2).cache();
        JavaRDD<ImageBlock> val = sc.parallelize(List.of(syntheticBlock(3, 100)), 1).cache();
        MultiLayerConfiguration conf = conf("adam");
        MultiLayerNetwork init = new MultiLayerNetwork(conf);
        init.init();
        TrainingResult r = train(new ParameterAveraging(2, 2), conf, init, rdd, val, 4, 16, 1);
        EpochStats last = r.history().get(3);
        assertTrue(last.validationAccuracy() > 0.8, "validation accuracy " + last.validationAccuracy());
        assertTrue(r.history().get(0).loss() > last.loss(), "loss must fall: " + r.history());
        assertTrue(last.imagesPerSecond() > 0);
        assertTrue(r.updaterState() != null && r.updaterState().length == 2 * r.params().length,
                "Adam state (m and v) must travel with the weights");
        rdd.unpersist();
        val.unpersist();
    }

    /** Trains from {@code init}'s weights on the nd4j engine, no listener, no checkpoints. */
    static TrainingResult train(TrainingStrategy strategy, MultiLayerConfiguration conf, MultiLayerNetwork init,
                                JavaRDD<ImageBlock> rdd, JavaRDD<ImageBlock> val, int epochs, int batch, long seed) {
        return new EpochDriver(strategy, new TrainingConfig(EngineSpec.nd4j(conf.toJson()), epochs, batch, seed, 1000))
                .train(new TrainingData(rdd, val, CLASSES), TrainingState.start(init.params().toFloatVector(), null));
    }

    /** The distributed run's weights equal the single process's within 1e-5, and training moved them. */
    private static void assertSameTraining(String updater, float[] expected, float[] actual, float[] start) {
        double maxDiff = 0;
        double moved = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
            moved = Math.max(moved, Math.abs(expected[i] - start[i]));
        }
        assertTrue(maxDiff < 1e-5, updater + ": max parameter difference " + maxDiff);
        assertTrue(moved > 1e-3, updater + ": training did not change the weights");
    }
}
