package io.sparkdl.train;

import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

import java.util.Collections;

/** Accuracy of given weights on cached blocks, computed on the executors (batched forward passes). */
final class Evaluation {
    private static final int BATCH = 256;

    private Evaluation() {
    }

    /**
     * @param maxTotal at most this many images in all (spread evenly over the blocks)
     */
    static double accuracy(TrainingRun run, JavaRDD<ImageBlock> blocks, float[] params, int maxTotal) {
        int parts = blocks.getNumPartitions();
        int perBlock = maxTotal == Integer.MAX_VALUE ? Integer.MAX_VALUE : Math.max(1, maxTotal / Math.max(1, parts));
        String runId = run.id();
        var conf = run.engine();
        Normalization norm = run.data().normalization();
        Broadcast<float[]> bp = run.sc().broadcast(params);
        try {
            long[] counts = blocks.mapPartitions(it -> {
                long correct = 0;
                long total = 0;
                EngineNetwork net = null;
                try {
                    while (it.hasNext()) {
                        ImageBlock b = it.next();
                        if (net == null) {
                            net = NetworkPool.borrow(runId, conf.value().forInput(b.height(), b.width(), b.channels()));
                            net.setParams(bp.value());
                        }
                        // An evenly strided sample: blocks keep the order rows arrived in, which can
                        // cluster classes (file listings sort by size), so the first n would be biased.
                        int n = Math.min(b.size(), perBlock);
                        int[] pick = new int[n];
                        for (int i = 0; i < n; i++) {
                            pick[i] = (int) ((long) i * b.size() / n);
                        }
                        for (int s = 0; s < n; s += BATCH) {
                            int e = Math.min(n, s + BATCH);
                            float[] p = net.output(b.featureArray(pick, s, e, norm, Augmentation.NONE, 0), e - s);
                            int classes = p.length / (e - s);
                            for (int i = s; i < e; i++) {
                                int best = 0;
                                for (int c = 1; c < classes; c++) {
                                    if (p[(i - s) * classes + c] > p[(i - s) * classes + best]) {
                                        best = c;
                                    }
                                }
                                if (best == b.label(pick[i])) {
                                    correct++;
                                }
                            }
                            total += e - s;
                        }
                    }
                } finally {
                    if (net != null) {
                        NetworkPool.giveBack(runId, net);
                    }
                }
                return Collections.singletonList(new long[]{correct, total}).iterator();
            }).reduce((a, b) -> new long[]{a[0] + b[0], a[1] + b[1]});
            return counts[1] == 0 ? Double.NaN : (double) counts[0] / counts[1];
        } finally {
            bp.destroy();
        }
    }
}
