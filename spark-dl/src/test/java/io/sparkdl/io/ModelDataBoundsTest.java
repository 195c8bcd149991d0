package io.sparkdl.io;

import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.CheckpointStore;
import io.sparkdl.train.EpochStats;
import io.sparkdl.train.TrainingState;
import org.apache.hadoop.conf.Configuration;
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
        String file = dir + "/data/kmeans.bin";
        Configuration conf = new Configuration();
        // two cluster sizes but one centre, then centres of different lengths
        for (double[][] bad : new double[][][]{{{1, 2}, {3, 4}, {0.5}}, {{1, 2}, {3, 4}, {0.5, 1}, {0.5}}}) {
            HadoopFiles.writeArrays(file, conf, bad);
            ModelFileException e = assertThrows(ModelFileException.class, () -> ImageKMeansModel.load(dir));
            assertTrue(e.getMessage().startsWith("Cannot load " + file), e.getMessage());
        }
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
}
