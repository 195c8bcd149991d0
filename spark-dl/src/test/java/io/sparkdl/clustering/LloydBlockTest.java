package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.linalg.RowBlocks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LloydBlockTest {
    private static final int N = 1500;
    private static final int D = 16;
    private static final int K = 6;

    @BeforeAll
    static void backend() {
        Nd4jBackend.init();
    }

    /** Overlapping Gaussian blobs, so that many rows sit near a boundary between clusters. */
    private static RowBlocks.Block data(long seed) {
        Random r = new Random(seed);
        float[] x = new float[N * D];
        for (int i = 0; i < N; i++) {
            int blob = r.nextInt(K);
            for (int j = 0; j < D; j++) {
                x[i * D + j] = (float) ((j % K == blob ? 2.0 : 0.0) + r.nextGaussian());
            }
        }
        return new RowBlocks.Block(N, D, x);
    }

    private static double[][] initial(RowBlocks.Block b) {
        double[][] c = new double[K][D];
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < D; j++) {
                c[k][j] = b.data()[k * 7 * D + j];
            }
        }
        return c;
    }

    private static double[][] means(ImageKMeans.Step s, double[][] old) {
        double[][] next = new double[K][];
        for (int c = 0; c < K; c++) {
            next[c] = old[c].clone();
            for (int j = 0; j < D && s.counts[c] > 0; j++) {
                next[c][j] = s.sums[c * D + j] / s.counts[c];
            }
        }
        return next;
    }

    private static ImageKMeans.Step step(LloydBlock b, LloydBlock.Centers c) {
        ImageKMeans.Step s = new ImageKMeans.Step(K, D);
        b.update(c, new LloydBlock.Workspace(c));
        b.addTo(s);
        return s;
    }

    /** Exact Lloyd step in double: nearest centre of every row, then per-cluster sums and counts. */
    private static ImageKMeans.Step exact(RowBlocks.Block b, double[][] centers) {
        ImageKMeans.Step s = new ImageKMeans.Step(K, D);
        for (int i = 0; i < N; i++) {
            int best = 0;
            double bestSq = Double.MAX_VALUE;
            for (int c = 0; c < K; c++) {
                double sq = 0;
                for (int j = 0; j < D; j++) {
                    double t = b.data()[i * D + j] - (double) (float) centers[c][j];
                    sq += t * t;
                }
                if (sq < bestSq) {
                    bestSq = sq;
                    best = c;
                }
            }
            s.counts[best]++;
            for (int j = 0; j < D; j++) {
                s.sums[best * D + j] += b.data()[i * D + j];
                s.sqSums[best] += (double) b.data()[i * D + j] * b.data()[i * D + j];
            }
        }
        return s;
    }

    @Test
    void boundsGiveExactLloydStepsWhileSkippingSettledRows() {
        RowBlocks.Block rows = data(11);
        LloydBlock kept = new LloydBlock(rows);
        double[][] centers = initial(rows);
        LloydBlock.Centers c = null;
        int computedLate = 0;
        long changedLate = 0;
        for (int it = 0; it < 25; it++) {
            c = new LloydBlock.Centers(it, centers, c);
            ImageKMeans.Step incremental = step(kept, c);
            ImageKMeans.Step fromScratch = step(new LloydBlock(rows), c);
            ImageKMeans.Step reference = exact(rows, centers);
            assertArrayEquals(reference.counts, incremental.counts, "iteration " + it + ": cluster sizes");
            assertArrayEquals(fromScratch.counts, incremental.counts, "iteration " + it);
            assertArrayEquals(reference.sums, incremental.sums, 1e-9, "iteration " + it + ": per-cluster sums");
            assertArrayEquals(reference.sqSums, incremental.sqSums, 1e-6, "iteration " + it);
            assertEquals(exactCost(rows, centers), incremental.cost(centers), 1e-9 * exactCost(rows, centers),
                    "cost from the sums equals the cost from the distances");
            if (it >= 5 && it < 15) {
                computedLate += kept.computed;
                changedLate += incremental.changed;
            }
            centers = means(incremental, centers);
        }
        LloydBlock fresh = new LloydBlock(rows);
        step(fresh, c);
        assertEquals(N, fresh.computed, "a block without state computes every row");
        // iterations 6-15 still move rows between clusters (455 moves in this data), while the bounds spare
        // most distance computations (5,274 rows computed of 15,000)
        assertTrue(changedLate > 100, "rows still change cluster in iterations 6-15: " + changedLate);
        assertTrue(computedLate < 0.5 * 10 * N, "iterations 6-15 computed the distances of " + computedLate
                + " rows out of " + 10 * N);
    }

    @Test
    void lostOrRepeatedStateIsHandled() {
        RowBlocks.Block rows = data(12);
        double[][] centers = initial(rows);
        LloydBlock b = new LloydBlock(rows);
        LloydBlock.Centers c0 = new LloydBlock.Centers(0, centers, null);
        ImageKMeans.Step s0 = step(b, c0);
        // a retried task: same iteration again changes nothing
        ImageKMeans.Step again = step(b, c0);
        assertArrayEquals(s0.sums, again.sums, 0.0);
        assertArrayEquals(s0.counts, again.counts);
        assertEquals(s0.changed, again.changed);
        // skip one iteration (as if this block's task had been lost): the update starts over from all distances
        double[][] c1 = means(s0, centers);
        LloydBlock.Centers cc1 = new LloydBlock.Centers(1, c1, c0);
        double[][] c2 = means(exact(rows, c1), c1);
        LloydBlock.Centers cc2 = new LloydBlock.Centers(2, c2, cc1);
        ImageKMeans.Step s2 = step(b, cc2);
        assertEquals(N, b.computed, "state two iterations old is rebuilt");
        assertArrayEquals(exact(rows, c2).counts, s2.counts);
    }

    @Test
    void stateSurvivesKryoAsWhenSpilledToDisk() {
        RowBlocks.Block rows = data(13);
        double[][] centers = initial(rows);
        LloydBlock b = new LloydBlock(rows);
        LloydBlock.Centers c0 = new LloydBlock.Centers(0, centers, null);
        double[][] c1 = means(step(b, c0), centers);
        org.apache.spark.serializer.SerializerInstance kryo = new org.apache.spark.serializer.KryoSerializer(
                new org.apache.spark.SparkConf().set("spark.kryo.registrator", "io.sparkdl.io.Nd4jKryoRegistrator"))
                .newInstance();
        scala.reflect.ClassTag<LloydBlock> tag = scala.reflect.ClassTag$.MODULE$.apply(LloydBlock.class);
        LloydBlock copy = kryo.deserialize(kryo.serialize(b, tag), tag);
        LloydBlock.Centers cc1 = new LloydBlock.Centers(1, c1, c0);
        ImageKMeans.Step s = step(copy, cc1);
        assertTrue(copy.computed < N, "the copy continues from its bounds (" + copy.computed + " rows computed)");
        assertArrayEquals(exact(rows, c1).counts, s.counts);
        assertArrayEquals(exact(rows, c1).sums, s.sums, 1e-9);
    }

    private static double exactCost(RowBlocks.Block b, double[][] centers) {
        double total = 0;
        for (int i = 0; i < N; i++) {
            double best = Double.MAX_VALUE;
            for (double[] c : centers) {
                double sq = 0;
                for (int j = 0; j < D; j++) {
                    double t = b.data()[i * D + j] - c[j];
                    sq += t * t;
                }
                best = Math.min(best, sq);
            }
            total += best;
        }
        return total;
    }
}
