package io.sparkdl.io;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.testkit.TestStore;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lakes and models on a real store: each subclass registers one {@link TestStore} (HDFS, S3) and runs these
 * tests against it: read a folder lake and a Parquet lake from it, train, save models and pipelines to it,
 * load them back, and predict exactly as before the save.
 */
abstract class StoreRoundTripTest {
    /** 3 classes x 8 images of test-data/fashion-mnist-small. */
    private static final int CLASSES = 3;
    private static final int PER_CLASS = 8;

    protected abstract TestStore store();

    private String lake(String name) {
        return store().uploadImages(SparkTest.testData().resolve("fashion-mnist-small"), name, CLASSES, PER_CLASS);
    }

    private static ImageDecoder decoder() {
        return new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip");
    }

    /** (path, prediction, probability) sorted by path. */
    private static List<Row> predictions(Dataset<Row> out) {
        return out.select("path", "prediction", "probability").orderBy("path").collectAsList();
    }

    private static void assertSamePredictions(List<Row> expected, List<Row> actual) {
        assertEquals(expected.size(), actual.size());
        assertTrue(expected.size() > 0);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).getString(0), actual.get(i).getString(0));
            assertEquals(expected.get(i).getDouble(1), actual.get(i).getDouble(1), expected.get(i).getString(0));
            assertArrayEquals(((Vector) expected.get(i).get(2)).toArray(), ((Vector) actual.get(i).get(2)).toArray(),
                    0.0, expected.get(i).getString(0));
        }
    }

    @Test
    void folderLakeTrainsAndModelsRoundTripThroughTheStore() throws IOException {
        SparkSession spark = SparkTest.spark();
        String lake = lake("folders");
        assertTrue(lake.startsWith(store().root()));
        Dataset<Row> files = ImageSources.readFolder(spark, lake);
        assertEquals(CLASSES * PER_CLASS, files.count());
        assertTrue(files.first().getString(0).startsWith(store().root()), files.first().getString(0));
        PipelineModel pm = new Pipeline().setStages(new PipelineStage[]{decoder(),
                new CnnClassifier().setEpochs(1).setBatchSize(8).setSeed(7).setNumWorkers(1)}).fit(files);
        List<Row> before = predictions(pm.transform(files));

        String pipelinePath = store().uri("models/pipeline");
        pm.write().save(pipelinePath);
        assertSamePredictions(before, predictions(PipelineModel.load(pipelinePath).transform(files)));

        CnnClassifierModel cnn = (CnnClassifierModel) pm.stages()[1];
        String modelPath = store().uri("models/cnn");
        cnn.write().save(modelPath);
        assertTrue(HadoopFiles.exists(modelPath + "/network/network.zip", spark.sparkContext().hadoopConfiguration()));
        assertEquals(CLASSES, spark.read().parquet(modelPath + "/data").first().getList(0).size(), "labels");
        assertEquals(1, spark.read().parquet(modelPath + "/history").count(), "one epoch");
        Dataset<Row> decoded = decoder().transform(files);
        assertSamePredictions(before, predictions(CnnClassifierModel.load(modelPath).transform(decoded)));
    }

    @Test
    void parquetLakeFeedsAModelLoadedFromTheStore() throws IOException {
        SparkSession spark = SparkTest.spark();
        String table = store().uri("tables/images");
        Dataset<Row> local = ImageSources.readFolder(spark, SparkTest.fashionSmall())
                .where(col("label").isin("bag", "coat", "dress")).orderBy("path").limit(3 * PER_CLASS);
        local.write().parquet(table);
        Dataset<Row> rows = ImageSources.readTable(spark, table, "parquet", "content", "label", "path");
        assertEquals(3 * PER_CLASS, rows.count());
        Dataset<Row> decoded = decoder().transform(rows);
        CnnClassifierModel model = Fuzzers.tinyModel();
        List<Row> before = predictions(model.transform(decoded));
        String path = store().uri("models/tiny");
        model.write().save(path);
        assertSamePredictions(before, predictions(CnnClassifierModel.load(path).transform(decoded)));
    }

    @Test
    void clusteringModelsRoundTripThroughTheStore() throws IOException {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> files = ImageSources.readFolder(spark, lake("clusters"));
        PipelineModel pm = new Pipeline().setStages(new PipelineStage[]{decoder(),
                new ImageKMeans().setFeaturesCol("image").setK(3).setMaxIter(5).setSeed(9)}).fit(files);
        List<Row> before = pm.transform(files).select("path", "cluster").orderBy("path").collectAsList();
        String path = store().uri("models/kmeans");
        pm.write().save(path);
        List<Row> after = PipelineModel.load(path).transform(files).select("path", "cluster").orderBy("path")
                .collectAsList();
        assertEquals(before, after);
        assertEquals(3, before.stream().map(r -> r.get(1)).distinct().count());
    }

    /**
     * The registry's protocol on the store: one lock holder, a version valid only through its manifest, a half
     * version removed, a lost state.json rebuilt from the manifests, CHAMPION and state one object each.
     */
    @Test
    void registryLocksPublishesAndRepairsOnTheStore() {
        org.apache.hadoop.conf.Configuration hc = SparkTest.spark().sparkContext().hadoopConfiguration();
        String root = store().uri("registry-" + java.util.UUID.randomUUID());
        java.time.Duration lease = java.time.Duration.ofMinutes(5);
        try (io.sparkdl.registry.RegistryLock lock = io.sparkdl.registry.RegistryLock.acquire(root, hc, lease)) {
            org.junit.jupiter.api.Assertions.assertThrows(io.sparkdl.registry.RegistryLock.HeldException.class,
                    () -> io.sparkdl.registry.RegistryLock.acquire(root, hc, lease));
            io.sparkdl.registry.ModelRegistry reg = io.sparkdl.registry.ModelRegistry.open(root, hc);
            String dir = reg.startVersion("v1");
            HadoopFiles.writeString(dir + "/model/weights.bin", "weights", hc);
            HadoopFiles.writeString(dir + "/metrics.json", "{\"partitions\": [\"2026-11-20\"], \"promoted\": true}",
                    hc);
            org.junit.jupiter.api.Assertions.assertFalse(reg.versionComplete("v1"), "no manifest yet");
            reg.publishVersion("v1");
            assertTrue(reg.versionComplete("v1"));
            reg.commit("v1", "2026-11-20", true, null);
            HadoopFiles.writeString(root + "/versions/v2/metrics.json", "{\"partitions\": [\"2026-11-21\"]}", hc);
        }
        org.junit.jupiter.api.Assertions.assertFalse(HadoopFiles.exists(root + "/" + io.sparkdl.registry.RegistryLock.NAME,
                hc), "released");
        try (io.sparkdl.registry.RegistryLock lock = io.sparkdl.registry.RegistryLock.acquire(root, hc, lease)) {
            HadoopFiles.deleteRecursively(root + "/state.json", hc);
            io.sparkdl.registry.ModelRegistry reg = io.sparkdl.registry.ModelRegistry.open(root, hc);
            assertEquals("v1", reg.champion());
            assertEquals("2026-11-20", reg.watermark(), "the half version v2 does not move the watermark");
            org.junit.jupiter.api.Assertions.assertFalse(HadoopFiles.exists(root + "/versions/v2", hc));
            assertEquals("v1", HadoopFiles.readString(root + "/CHAMPION", hc).trim());
            assertTrue(HadoopFiles.exists(root + "/state.json", hc), "the rebuilt state is written back");
        }
    }
}
