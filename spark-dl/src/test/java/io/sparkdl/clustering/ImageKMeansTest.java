package io.sparkdl.clustering;

import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.mllib.clustering.KMeans;
import org.apache.spark.mllib.clustering.KMeansModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageKMeansTest {

    static Dataset<Row> blobs(SparkSession spark, int perBlob, int d, long seed) {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            for (int i = 0; i < perBlob; i++) {
                double[] x = new double[d];
                for (int c = 0; c < d; c++) {
                    x[c] = (c % 4 == b ? 8.0 : 0.0) + r.nextGaussian();
                }
                rows.add(RowFactory.create(b * perBlob + i, b, Vectors.dense(x)));
            }
        }
        return spark.createDataFrame(rows, new StructType().add("id", "int").add("blob", "int")
                .add("features", SQLDataTypes.VectorType())).repartition(3);
    }

    @Test
    void findsSeparatedClustersAndReportsDistances() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = blobs(spark, 60, 12, 1).cache();
        ImageKMeansModel m = new ImageKMeans().setK(4).setSeed(3).fit(data);
        assertEquals(4, m.k());
        assertEquals(240, java.util.Arrays.stream(m.clusterSizes()).sum());
        List<Row> out = m.transform(data).select("blob", "cluster", "distance", "features").collectAsList();
        Map<Integer, Integer> blobToCluster = new HashMap<>();
        double cost = 0;
        for (Row r : out) {
            Integer prev = blobToCluster.putIfAbsent(r.getInt(0), r.getInt(1));
            assertTrue(prev == null || prev == r.getInt(1), "each blob lands in one cluster");
            double[] x = ((Vector) r.get(3)).toArray();
            double[] c = m.clusterCenters()[r.getInt(1)].toArray();
            double sq = 0;
            for (int i = 0; i < x.length; i++) {
                sq += (x[i] - c[i]) * (x[i] - c[i]);
            }
            assertEquals(Math.sqrt(sq), r.getDouble(2), 1e-4, "distance to the row's centre");
            cost += sq;
        }
        assertEquals(4, new java.util.HashSet<>(blobToCluster.values()).size(), "blobs map to distinct clusters");
        assertEquals(cost, m.trainingCost(), 1e-6 * cost, "trainingCost is the inertia of the final centres");
        ImageKMeansModel again = new ImageKMeans().setK(4).setSeed(3).fit(data);
        assertArrayEquals(m.clusterCenters()[0].toArray(), again.clusterCenters()[0].toArray(), 1e-9,
                "seeded k-means++ is reproducible");
        data.unpersist();
    }

    @Test
    void sameStartAsMllibGivesTheSameCentres() {
        // k < d: blocks keep distance bounds between iterations; k > d: every iteration computes all distances
        sameCentresAsMllib(6, 3, 10);
        sameCentresAsMllib(2, 5, 15);
    }

    private static void sameCentresAsMllib(int d, int k, int iterations) {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = blobs(spark, 50, d, 2).cache();
        List<Row> starts = data.orderBy("id").limit(k).select("features").collectAsList();
        double[][] init = new double[k][];
        org.apache.spark.mllib.linalg.Vector[] mllibInit = new org.apache.spark.mllib.linalg.Vector[k];
        for (int i = 0; i < k; i++) {
            init[i] = ((Vector) starts.get(i).get(0)).toArray();
            mllibInit[i] = org.apache.spark.mllib.linalg.Vectors.dense(init[i]);
        }
        ImageKMeansModel ours = new ImageKMeans().setK(k).setMaxIter(iterations).setTol(0).setInitialCenters(init)
                .fit(data);
        KMeansModel theirs = new KMeans().setK(k).setMaxIterations(iterations).setEpsilon(0)
                .setInitialModel(new KMeansModel(mllibInit))
                .run(data.select("features").toJavaRDD()
                        .map(r -> org.apache.spark.mllib.linalg.Vectors.fromML((Vector) r.get(0))).rdd().cache());
        for (int c = 0; c < k; c++) {
            assertArrayEquals(theirs.clusterCenters()[c].toArray(), ours.clusterCenters()[c].toArray(), 1e-4,
                    "d " + d + ", k " + k + ": centre " + c);
        }
        data.unpersist();
    }

    @Test
    void fewerDistinctRowsThanKFitsTheClustersThereAre() {
        SparkSession spark = SparkTest.spark();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            // 3 distinct points, each repeated: float rounding of the zero distances must not pick a copy again
            rows.add(RowFactory.create(Vectors.dense(0.1 * (i % 3) + 0.37, 0.71 - 0.2 * (i % 3), 0.05 * (i % 3))));
        }
        Dataset<Row> three = spark.createDataFrame(rows, new StructType().add("features", SQLDataTypes.VectorType()));
        ImageKMeansModel m = new ImageKMeans().setK(10).setSeed(3).fit(three);
        assertEquals(3, m.k(), "as MLlib: no empty clusters when the data has fewer distinct rows than k");
        assertEquals(30, java.util.Arrays.stream(m.clusterSizes()).sum());
        assertTrue(java.util.Arrays.stream(m.clusterSizes()).allMatch(n -> n == 10));
    }
}
