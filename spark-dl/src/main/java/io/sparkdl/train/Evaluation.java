package io.sparkdl.train;

import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** Accuracy of given weights on cached blocks, computed on the executors (batched forward passes). */
final class Evaluation {
    private static final int BATCH = 256;

    private Evaluation() {
    }

    /**
     * @param sizes    images in each partition of {@code blocks} (null: unknown, then {@code maxTotal} must be
     *                 {@code Integer.MAX_VALUE})
     * @param maxTotal at most this many images in all (spread evenly over the partitions)
     */
    static double accuracy(TrainingRun run, JavaRDD<ImageBlock> blocks, List<Integer> sizes, float[] params,
                           int maxTotal) {
        int parts = blocks.getNumPartitions();
        boolean all = maxTotal == Integer.MAX_VALUE;
        if (!all && (sizes == null || sizes.size() != parts)) {
            throw new IllegalArgumentException("a sampled accuracy needs the images of each of the " + parts
                    + " partitions");
        }
        int perPartition = all ? Integer.MAX_VALUE : Math.max(1, maxTotal / Math.max(1, parts));
        int[] partitionSizes = all ? null : sizes.stream().mapToInt(Integer::intValue).toArray();
        String runId = run.id();
        var conf = run.engine();
        Normalization norm = run.data().normalization();
        Broadcast<float[]> bp = run.sc().broadcast(params);
        try {
            long[] counts = blocks.mapPartitionsWithIndex((partition, it) -> {
                long correct = 0;
                long total = 0;
                // An evenly strided sample of the partition's images (numbered across its blocks): blocks keep
                // the order rows arrived in, which can cluster classes (file listings sort by size), so the
                // first n would be biased.
                int size = partitionSizes == null ? 0 : partitionSizes[partition];
                int n = partitionSizes == null ? 0 : Math.min(size, perPartition);
                int next = 0; // the next sample's number, 0..n-1
                long offset = 0;
                EngineNetwork net = null;
                try {
                    while (it.hasNext() && (partitionSizes == null || next < n)) {
                        ImageBlock b = it.next();
                        int[] pick;
                        if (partitionSizes == null) {
                            pick = null;
                        } else {
                            int[] p = new int[b.size()];
                            int k = 0;
                            for (long g; next < n && (g = (long) next * size / n) < offset + b.size(); next++) {
                                p[k++] = (int) (g - offset);
                            }
                            pick = Arrays.copyOf(p, k);
                        }
                        offset += b.size();
                        int count = pick == null ? b.size() : pick.length;
                        if (count == 0) {
                            continue;
                        }
                        if (net == null) {
                            net = NetworkPool.borrow(runId, conf.value().forInput(b.height(), b.width(), b.channels()));
                            net.setParams(bp.value());
                        }
                        for (int s = 0; s < count; s += BATCH) {
                            int e = Math.min(count, s + BATCH);
                            float[] p = net.output(b.featureArray(pick, s, e, norm, Augmentation.NONE, 0), e - s);
                            int classes = p.length / (e - s);
                            for (int i = s; i < e; i++) {
                                int best = 0;
                                for (int c = 1; c < classes; c++) {
                                    if (p[(i - s) * classes + c] > p[(i - s) * classes + best]) {
                                        best = c;
                                    }
                                }
                                if (best == b.label(pick == null ? i : pick[i])) {
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
            }, false).reduce((a, b) -> new long[]{a[0] + b[0], a[1] + b[1]});
            return counts[1] == 0 ? Double.NaN : (double) counts[0] / counts[1];
        } finally {
            bp.destroy();
        }
    }
}
