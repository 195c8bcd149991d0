package io.sparkdl.io;

import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.CheckpointStore;
import io.sparkdl.train.EpochStats;
import io.sparkdl.train.TrainingState;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stage data and checkpoints whose arrays do not have the structure their reader expects are refused by name. */
class ModelDataBoundsTest {
    @TempDir
    Path tmp;

    @Test
    void kMeansDataWithInconsistentShapesIsRefused() throws Exception {
        String dir = tmp.resolve("km").toString();
        ImageKMeansModel m = new ImageKMeans().setFeaturesCol("image").setK(2).setMaxIter(2).setSeed(1)
                .fit(Fuzzers.smallDecoded(SparkTest.spark(), 2));
        m.write().save(dir);
        assertEquals(2, ImageKMeansModel.load(dir).clusterCenters().length);
        String data = dir + "/data";
        Configuration conf = new Configuration();
        StructType schema = new StructType()
                .add("clusterCenters", ModelData.DOUBLES).add("clusterSizes", DataTypes.createArrayType(DataTypes.LongType))
                .add("trainingCost", DataTypes.DoubleType).add("iterations", DataTypes.IntegerType);
        // two cluster sizes but three values of centres; no cluster at all; two rows
        List<List<Row>> bad = List.of(
                List.of(RowFactory.create(new double[]{1, 2, 3}, new long[]{1, 1}, 1.0, 2)),
                List.of(RowFactory.create(new double[]{1, 2}, new long[0], 1.0, 2)),
                List.of(RowFactory.create(new double[]{1, 2}, new long[]{1, 1}, 1.0, 2),
                        RowFactory.create(new double[]{1, 2}, new long[]{1, 1}, 1.0, 2)));
        for (List<Row> rows : bad) {
            HadoopFiles.deleteRecursively(data, conf);
            ModelData.write(SparkTest.spark(), data, schema, rows);
            ModelFileException e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
            assertTrue(e.getMessage().startsWith("Cannot load " + data), e.getMessage());
        }
        // a column of another type, and one missing
        HadoopFiles.deleteRecursively(data, conf);
        ModelData.write(SparkTest.spark(), data, new StructType().add("clusterCenters", DataTypes.StringType)
                .add("clusterSizes", DataTypes.createArrayType(DataTypes.LongType)),
                List.of(RowFactory.create("x", new long[]{1})));
        ModelFileException e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
        assertTrue(e.getMessage().contains("'clusterCenters' is string, expected array<double>"), e.getMessage());
        HadoopFiles.deleteRecursively(data, conf);
        ModelData.write(SparkTest.spark(), data, new StructType().add("clusterCenters", ModelData.DOUBLES),
                List.of(RowFactory.create(new double[]{1})));
        e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
        assertTrue(e.getMessage().contains("no column 'clusterSizes'"), e.getMessage());
        // not Parquet at all
        HadoopFiles.deleteRecursively(data, conf);
        HadoopFiles.writeString(data + "/part-00000.parquet", "not parquet", conf);
        e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
        assertTrue(e.getMessage().startsWith("Cannot load " + data), e.getMessage());
    }

    @Test
    void legacyKMeansDataWithInconsistentShapesIsRefused() throws Exception {
        String dir = tmp.resolve("km01").toString();
        Configuration conf = new Configuration();
        new ImageKMeans().setFeaturesCol("image").setK(2).setMaxIter(2).setSeed(1)
                .fit(Fuzzers.smallDecoded(SparkTest.spark(), 2)).write().save(dir);
        HadoopFiles.deleteRecursively(dir + "/data", conf);
        String file = dir + "/data/kmeans.bin";   // the 0.1 layout
        HadoopFiles.writeArrays(file, conf, new double[]{1, 2}, new double[]{3, 4}, new double[]{0.5, 1},
                new double[]{0.5, 2});
        assertEquals(2, ImageKMeansModel.load(dir).clusterCenters().length);
        // two cluster sizes but one centre, then centres of different lengths
        for (double[][] bad : new double[][][]{{{1, 2}, {3, 4}, {0.5}}, {{1, 2}, {3, 4}, {0.5, 1}, {0.5}}}) {
            HadoopFiles.writeArrays(file, conf, bad);
            ModelFileException e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
            assertTrue(e.getMessage().startsWith("Cannot load " + file), e.getMessage());
        }
    }

    @Test
    void moreRowsThanTheLimitAreRefused() {
        // as many rows as the ensemble reader's limit on members, plus one
        String data = tmp.resolve("ens").resolve("data").toString();
        StructType schema = new StructType().add("member", DataTypes.IntegerType).add("weight", DataTypes.DoubleType)
                .add("validationAccuracy", DataTypes.DoubleType);
        List<Row> rows = new java.util.ArrayList<>();
        for (int i = 0; i <= 10_000; i++) {
            rows.add(RowFactory.create(i, 1.0, null));
        }
        ModelData.write(SparkTest.spark(), data, schema, rows);
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> ModelData.read(SparkTest.spark(), data, schema, 10_000));
        assertTrue(e.getMessage().equals("Cannot load " + data + ": holds more than 10000 rows"), e.getMessage());
    }

    @Test
    void checkpointsWithInconsistentArraysAreRefused() {
        Configuration conf = new Configuration();
        String dir = tmp.resolve("ckpt").toString();
        CheckpointStore store = new CheckpointStore(dir, conf, "f");
        List<EpochStats> h = List.of(new EpochStats(1, 0.5, 0.8, 0.7, 100, 1));
        store.save(new TrainingState(1, 10, new float[]{1, 2, 3}, new float[]{4}, new float[]{5, 6, 7}, h));
        assertArrayEquals(new float[]{1, 2, 3}, store.load().params());
        // a velocity that does not match the weights
        HadoopFiles.writeArrays(dir + "/epoch-1/state.bin", conf, new double[]{1, 2, 3}, new double[]{4},
                new double[]{5}, new double[]{1, 10});
        ModelFileException e = assertThrows(ModelFileException.class, store::load);
        assertTrue(e.getMessage().contains(dir + "/epoch-1/state.bin"), e.getMessage());
    }

    @Test
    void checkpointHistoryHasTheModelsFieldsAndReadsTheFormerArrays() {
        Configuration conf = new Configuration();
        String dir = tmp.resolve("ckpt-h").toString();
        CheckpointStore store = new CheckpointStore(dir, conf, "f");
        List<EpochStats> h = List.of(new EpochStats(1, 0.5, 0.8, Double.NaN, 100, 1),
                new EpochStats(2, 0.25, 0.9, Double.NaN, 120, 2));
        store.save(new TrainingState(2, 10, new float[]{1, 2, 3}, null, null, h));
        assertEquals(h, store.load().history());
        String json = HadoopFiles.readString(dir + "/epoch-2/state.json", conf);
        assertTrue(json.contains("{\"epoch\":1,\"loss\":0.5,\"trainAccuracy\":0.8,\"validationAccuracy\":null,"
                + "\"imagesPerSecond\":100.0,\"seconds\":1.0}"), json);
        // a checkpoint of release 0.1 (each epoch an array in the same order) still resumes
        HadoopFiles.writeString(dir + "/epoch-2/state.json", "{\"fingerprint\":\"f\",\"epochsDone\":2,\"history\":"
                + "[[1,0.5,0.8,null,100.0,1.0],[2,0.25,0.9,null,120.0,2.0]]}", conf);
        assertEquals(h, store.load().history());
        HadoopFiles.writeString(dir + "/epoch-2/state.json", "{\"fingerprint\":\"f\",\"history\":[{\"epoch\":1}]}",
                conf);
        ModelFileException e = assertThrows(ModelFileException.class, store::load);
        assertTrue(e.getMessage().contains(dir + "/epoch-2/state.json") && e.getMessage().contains("'loss'"),
                e.getMessage());
    }
}
