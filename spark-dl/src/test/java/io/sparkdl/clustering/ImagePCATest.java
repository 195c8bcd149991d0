package io.sparkdl.clustering;

import io.sparkdl.linalg.DenseLinAlg;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.feature.PCA;
import org.apache.spark.ml.feature.PCAModel;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImagePCATest {

    /** n rows of d values with decaying variances along random directions, plus an offset. */
    static Dataset<Row> lowRankish(SparkSession spark, int n, int d, long seed) {
        Random r = new Random(seed);
        double[][] dirs = DenseLinAlg.orthonormalize(DenseLinAlg.gaussian(d, d, seed), seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = new double[d];
            for (int j = 0; j < d; j++) {
                double s = r.nextGaussian() * 10.0 / (1 + j);
                for (int c = 0; c < d; c++) {
                    x[c] += s * dirs[j][c];
                }
            }
            for (int c = 0; c < d; c++) {
                x[c] += 3 + c * 0.1;
            }
            rows.add(RowFactory.create(i, Vectors.dense(x)));
        }
        return spark.createDataFrame(rows, new StructType().add("id", "int").add("features", SQLDataTypes.VectorType()))
                .repartition(3);
    }

    @Test
    void matchesMllibPcaOnVariancesComponentsAndScores() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = lowRankish(spark, 1500, 30, 4).cache();
        int k = 6;
        ImagePCAModel ours = new ImagePCA().setK(k).setSeed(1).fit(data);
        PCAModel mllib = new PCA().setInputCol("features").setOutputCol("mllib").setK(k).fit(data);
        double[] ratio = ours.explainedVarianceRatio().toArray();
        double[] theirs = mllib.explainedVariance().toArray();
        assertArrayEquals(theirs, ratio, 1e-6, "explained variance ratios");
        DenseMatrix a = ours.pc();
        DenseMatrix b = mllib.pc();
        for (int j = 0; j < k; j++) {
            double dot = 0;
            for (int i = 0; i < 30; i++) {
                dot += a.apply(i, j) * b.apply(i, j);
            }
            assertEquals(1.0, Math.abs(dot), 1e-6, "component " + j + " agrees up to sign");
        }
        // scores: MLlib does not centre, so compare (x - mean) W with ours through the same axes
        Row r = ours.transform(data).where("id = 7").select("features", "pca").first();
        double[] x = ((Vector) r.get(0)).toArray();
        double[] mean = ours.mean().toArray();
        double[] scores = ((Vector) r.get(1)).toArray();
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (int i = 0; i < 30; i++) {
                s += (x[i] - mean[i]) * a.apply(i, j);
            }
            assertEquals(s, scores[j], 1e-4);
        }
        data.unpersist();
    }

    @Test
    void fullRankReconstructsAndWhiteningGivesUnitVariance() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = lowRankish(spark, 400, 8, 9);
        ImagePCAModel m = new ImagePCA().setK(8).setOversampling(0).setPowerIterations(3).fit(data);
        Dataset<Row> back = m.inverseTransform(m.transform(data));
        for (Row r : back.select("features", "reconstruction").collectAsList()) {
            assertArrayEquals(((Vector) r.get(0)).toArray(), ((Vector) r.get(1)).toArray(), 1e-3);
        }
        m.setWhitening(true);
        List<Row> w = m.transform(data).select("pca").collectAsList();
        double sq = 0;
        for (Row r : w) {
            double v = ((Vector) r.get(0)).apply(0);
            sq += v * v;
        }
        assertEquals(1.0, sq / (w.size() - 1), 1e-3, "whitened scores have unit variance");
        Dataset<Row> whiteBack = m.inverseTransform(m.transform(data));
        Row first = whiteBack.select("features", "reconstruction").first();
        assertArrayEquals(((Vector) first.get(0)).toArray(), ((Vector) first.get(1)).toArray(), 1e-3,
                "inverseTransform undoes whitening");
    }

    @Test
    void imageStructsWorkAndBadSettingsAreNamed() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> imgs = Fuzzers.smallDecoded(spark, 5);
        ImagePCAModel m = new ImagePCA().setInputCol("image").setK(10).fit(imgs);
        assertEquals(784, m.mean().size());
        double[] ratio = m.explainedVarianceRatio().toArray();
        for (int j = 1; j < ratio.length; j++) {
            assertTrue(ratio[j] <= ratio[j - 1] + 1e-9, "decreasing variances");
        }
        assertTrue(ratio[0] > 0.1 && java.util.Arrays.stream(ratio).sum() < 1.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImagePCA().setInputCol("image").setK(1000).fit(imgs));
        assertTrue(e.getMessage().contains("k = 1000") && e.getMessage().contains("784"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ImagePCA().setInputCol("label").fit(imgs));
        assertTrue(e.getMessage().contains("'label'"), e.getMessage());
    }

    @Test
    void denseLinAlgEigenAndOrthonormalBasis() {
        double[][] q = DenseLinAlg.orthonormalize(DenseLinAlg.gaussian(20, 5, 3), 3);
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 5; j++) {
                double dot = 0;
                for (int c = 0; c < 20; c++) {
                    dot += q[i][c] * q[j][c];
                }
                assertEquals(i == j ? 1 : 0, dot, 1e-12);
            }
        }
        double[][] sym = {{4, 1, 0}, {1, 3, 1}, {0, 1, 2}};
        DenseLinAlg.Eigen e = DenseLinAlg.symmetricEigen(sym);
        for (int j = 0; j < 3; j++) {
            double[] v = e.vectors()[j];
            for (int r = 0; r < 3; r++) {
                double av = 0;
                for (int c = 0; c < 3; c++) {
                    av += sym[r][c] * v[c];
                }
                assertEquals(e.values()[j] * v[r], av, 1e-10, "A v = lambda v");
            }
        }
        assertTrue(e.values()[0] >= e.values()[1] && e.values()[1] >= e.values()[2]);
        assertEquals(9.0, e.values()[0] + e.values()[1] + e.values()[2], 1e-10, "trace");
    }
}
