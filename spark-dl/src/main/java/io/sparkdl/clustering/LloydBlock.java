package io.sparkdl.clustering;

import io.sparkdl.linalg.RowBlocks;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One block of rows and its k-means state, which lives with the block in {@link ImageKMeans}'s cached RDD
 * from one Lloyd iteration to the next: each row's cluster, Elkan's bounds on its distances (an upper bound
 * on the distance to its own centre, a lower bound on its distance to each centre), and the block's
 * per-cluster sums, counts and sums of squared norms.
 *
 * <p>An iteration first moves the bounds by how far each centre moved (triangle inequality), then computes
 * distances, as one matrix product over the rows gathered, only for rows whose upper bound exceeds, for some
 * other centre, both the lower bound and half the distance between the two centres; every other row provably
 * keeps its centre. Rows that change cluster move their values between the block's sums. Late iterations,
 * where few rows are near a boundary, touch few rows. The result equals Lloyd's algorithm with exact
 * distances: the bounds carry a margin for the rounding error of the float product.
 *
 * <p>The state is valid for the centres of one iteration ({@link #iteration}). When a block lost its state
 * (recomputed from its lineage, read back from disk after an eviction, or an earlier task failed half-way)
 * it is rebuilt from all distances. A retried task finds the state already at its iteration and changes
 * nothing. The state costs k + 2 doubles and one int per row.
 */
final class LloydBlock implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Unit roundoff of float. */
    private static final double U = Math.ulp(1.0f) / 2;

    final RowBlocks.Block rows;
    private int iteration = -1;
    private long changed;
    /** Rows whose distances the last update computed (the others kept their centre by the bounds). */
    int computed;
    private int[] assign;
    private double[] upper;
    private double[] lower;
    private double[] norms;
    private double[] sums;
    private long[] counts;
    private double[] sqSums;

    LloydBlock(RowBlocks.Block rows) {
        this.rows = rows;
    }

    /**
     * The centres of one iteration, as the tasks use them (float), with what the bounds need: each centre's
     * move since the previous iteration (null in the first), and half the distance from each centre to its
     * nearest other centre. All are computed in double from the float values.
     */
    static final class Centers implements Serializable {
        private static final long serialVersionUID = 1L;
        final int iteration;
        final int k;
        final int d;
        final float[] flat;
        final double[] moves;
        /** Half the distance between centres a and b at [a * k + b]. */
        final double[] halfPair;
        /** Half the distance from each centre to its nearest other centre. */
        final double[] halfGap;
        final double[] sqNorms;
        final double maxSqNorm;
        /** Whether blocks keep distance bounds between iterations. */
        final boolean bounded;

        Centers(int iteration, double[][] centers, Centers previous) {
            this.iteration = iteration;
            k = centers.length;
            d = centers[0].length;
            flat = ImageKMeans.flatten(centers);
            double[] sq = new double[k];
            for (int c = 0; c < k; c++) {
                for (int i = 0; i < d; i++) {
                    sq[c] += (double) flat[c * d + i] * flat[c * d + i];
                }
            }
            sqNorms = sq;
            maxSqNorm = Arrays.stream(sq).max().orElse(0);
            halfPair = new double[k * k];
            halfGap = new double[k];
            Arrays.fill(halfGap, Double.MAX_VALUE);
            for (int a = 0; a < k; a++) {
                for (int b = a + 1; b < k; b++) {
                    double g = 0.5 * Math.sqrt(distanceSq(flat, a, flat, b, d)) * (1 - 1e-9);   // double rounding
                    halfPair[a * k + b] = g;
                    halfPair[b * k + a] = g;
                    halfGap[a] = Math.min(halfGap[a], g);
                    halfGap[b] = Math.min(halfGap[b], g);
                }
            }
            // the bounds take k + 2 doubles a row: kept only while that is at most about twice the row itself
            bounded = k <= d;
            if (!bounded || previous == null || previous.iteration != iteration - 1) {
                moves = null;
                return;
            }
            moves = new double[k];
            for (int c = 0; c < k; c++) {
                moves[c] = Math.sqrt(distanceSq(flat, c, previous.flat, c, d)) * (1 + 1e-9);
            }
        }
    }

    /** Per-task buffers: the centres as matrices and a loader for the rows to compute. */
    static final class Workspace {
        final INDArray centers;
        final RowBlocks.Loader loader = new RowBlocks.Loader();
        int[] todo = new int[0];

        Workspace(Centers c) {
            centers = Nd4j.create(c.flat, new long[]{c.k, c.d}, 'c');
        }
    }

    /** Brings the state to the centres {@code c} and returns how many rows changed cluster. */
    long update(Centers c, Workspace w) {
        if (iteration == c.iteration) {
            return changed;
        }
        int n = rows.rows();
        int d = rows.cols();
        int k = c.k;
        boolean incremental = assign != null && lower != null && c.moves != null && iteration == c.iteration - 1
                && counts.length == k;
        iteration = -1;   // invalid until this update completes
        if (w.todo.length < n) {
            w.todo = new int[n];
        }
        int[] todo = w.todo;
        int m = 0;
        float[] data = rows.data();
        if (incremental) {
            double[] moves = c.moves;
            for (int r = 0; r < n; r++) {
                int a = assign[r];
                double u = upper[r] + moves[a];
                upper[r] = u;
                int base = r * k;
                for (int cc = 0; cc < k; cc++) {
                    lower[base + cc] -= moves[cc];
                }
                // (tightening u with the exact distance to the row's own centre first, as Elkan does, cost more
                // than it saved: one row's distance in Java takes about as long as its share of the product)
                if (mayChange(u, a, base, k, c)) {
                    todo[m++] = r;
                }
            }
        } else {
            reset(n, k, d, c.bounded);
            for (int r = 0; r < n; r++) {
                todo[m++] = r;
            }
        }
        long moved = 0;
        computed = m;
        if (m > 0) {
            INDArray x = m == n ? w.loader.load(rows) : w.loader.load(rows, todo, m);
            // C X^T (k x m) runs about 30% faster than X C^T with OpenBLAS for k << d
            float[] dots = w.centers.mmul(x.transpose()).ravel().toFloatVector();
            for (int i = 0; i < m; i++) {
                int r = todo[i];
                // |x - c|^2 = |x|^2 - 2 x.c + |c|^2 with the dot products from the float product; its rounding
                // error is below (d + 3) u (|x|^2 + |c|^2), which widens the bounds
                double err = (d + 3) * U * (norms[r] + c.maxSqNorm);
                double best = Double.MAX_VALUE;
                int bestC = 0;
                int base = r * k;
                for (int cc = 0; cc < k; cc++) {
                    double sq = norms[r] - 2.0 * dots[cc * m + i] + c.sqNorms[cc];
                    if (lower != null) {
                        lower[base + cc] = Math.sqrt(Math.max(0, sq - err));
                    }
                    if (sq < best) {
                        best = sq;
                        bestC = cc;
                    }
                }
                if (upper != null) {
                    upper[r] = Math.sqrt(Math.max(0, best + err));
                }
                int a = assign[r];
                if (a != bestC) {
                    int o = r * d;
                    if (a >= 0) {
                        int so = a * d;
                        for (int j = 0; j < d; j++) {
                            sums[so + j] -= data[o + j];
                        }
                        counts[a]--;
                        sqSums[a] -= norms[r];
                    }
                    int so = bestC * d;
                    for (int j = 0; j < d; j++) {
                        sums[so + j] += data[o + j];
                    }
                    counts[bestC]++;
                    sqSums[bestC] += norms[r];
                    assign[r] = bestC;
                    moved++;
                }
            }
        }
        changed = moved;
        iteration = c.iteration;
        return moved;
    }

    /** Whether a row of centre {@code a} with upper bound {@code u} may be nearer to another centre. */
    private boolean mayChange(double u, int a, int base, int k, Centers c) {
        if (u <= c.halfGap[a]) {
            return false;
        }
        for (int cc = 0; cc < k; cc++) {
            if (cc != a && u > lower[base + cc] && u > c.halfPair[a * k + cc]) {
                return true;
            }
        }
        return false;
    }

    /** Squared distance between row {@code r} of {@code x} and row {@code c} of {@code y}, in double. */
    private static double distanceSq(float[] x, int r, float[] y, int c, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            double t = (double) x[r * d + j] - y[c * d + j];
            s += t * t;
        }
        return s;
    }

    private void reset(int n, int k, int d, boolean bounded) {
        if (norms == null) {
            norms = new double[n];
            float[] x = rows.data();
            for (int r = 0; r < n; r++) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += (double) x[r * d + j] * x[r * d + j];
                }
                norms[r] = s;
            }
        }
        assign = new int[n];
        Arrays.fill(assign, -1);
        upper = bounded ? new double[n] : null;
        lower = bounded ? new double[n * k] : null;
        sums = new double[k * d];
        counts = new long[k];
        sqSums = new double[k];
    }

    /** Adds this block's per-cluster sums, counts and squared norms to {@code s}. */
    void addTo(ImageKMeans.Step s) {
        for (int i = 0; i < sums.length; i++) {
            s.sums[i] += sums[i];
        }
        for (int c = 0; c < counts.length; c++) {
            s.counts[c] += counts[c];
            s.sqSums[c] += sqSums[c];
        }
        s.changed += changed;
        s.computed += computed;
        s.n += rows.rows();
    }
}
