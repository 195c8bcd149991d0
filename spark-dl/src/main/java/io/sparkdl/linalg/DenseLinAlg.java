package io.sparkdl.linalg;

import java.util.Random;

/**
 * Small dense linear algebra on the driver, in double precision: orthonormal bases of tall matrices
 * (d x l with l in the tens) and eigen-decompositions of small symmetric matrices. Matrices are
 * column-major {@code double[col][row]} so that columns are contiguous.
 */
public final class DenseLinAlg {
    private DenseLinAlg() {
    }

    /** A d x l matrix of independent standard normal values (columns). */
    public static double[][] gaussian(int d, int l, long seed) {
        Random r = new Random(seed);
        double[][] m = new double[l][d];
        for (double[] c : m) {
            for (int i = 0; i < d; i++) {
                c[i] = r.nextGaussian();
            }
        }
        return m;
    }

    /**
     * Orthonormalises the columns in place (modified Gram-Schmidt, applied twice for stability). A column
     * that falls into the span of the previous ones is replaced by a random direction orthogonal to them.
     */
    public static double[][] orthonormalize(double[][] cols, long seed) {
        Random r = new Random(seed);
        for (int j = 0; j < cols.length; j++) {
            double before = norm(cols[j]);
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < j; i++) {
                    double dot = dot(cols[i], cols[j]);
                    axpy(-dot, cols[i], cols[j]);
                }
            }
            double n = norm(cols[j]);
            if (n <= 1e-10 * Math.max(before, 1e-300)) {
                for (int k = 0; k < cols[j].length; k++) {
                    cols[j][k] = r.nextGaussian();
                }
                j--;
                continue;
            }
            for (int k = 0; k < cols[j].length; k++) {
                cols[j][k] /= n;
            }
        }
        return cols;
    }

    /** {@code Q^T B} for two d x l column-major matrices: an l x l matrix (row-major double[l][l]). */
    public static double[][] gram(double[][] q, double[][] b) {
        int l = q.length;
        double[][] m = new double[l][l];
        for (int i = 0; i < l; i++) {
            for (int j = 0; j < l; j++) {
                m[i][j] = dot(q[i], b[j]);
            }
        }
        return m;
    }

    /**
     * Eigen-decomposition of a symmetric matrix (cyclic Jacobi). Returns eigenvalues in decreasing order
     * in {@code values} and the matching unit eigenvectors as the columns of {@code vectors[col][row]}.
     */
    public static Eigen symmetricEigen(double[][] sym) {
        int n = sym.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = sym[i].clone();
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-30) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (Math.abs(a[p][q]) < 1e-300) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k][p];
                        double vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(a[y][y], a[x][x]));
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int j = 0; j < n; j++) {
            values[j] = a[order[j]][order[j]];
            for (int k = 0; k < n; k++) {
                vectors[j][k] = v[k][order[j]];
            }
        }
        return new Eigen(values, vectors);
    }

    /** Eigenvalues (decreasing) and eigenvectors as columns {@code vectors[j]}. */
    public record Eigen(double[] values, double[][] vectors) {
    }

    /** Column-major d x l doubles as a row-major d x l float array (for ND4J). */
    public static float[] toRowMajorFloats(double[][] cols) {
        int l = cols.length;
        int d = cols[0].length;
        float[] f = new float[d * l];
        for (int j = 0; j < l; j++) {
            for (int i = 0; i < d; i++) {
                f[i * l + j] = (float) cols[j][i];
            }
        }
        return f;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    static void axpy(double alpha, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += alpha * x[i];
        }
    }
}
