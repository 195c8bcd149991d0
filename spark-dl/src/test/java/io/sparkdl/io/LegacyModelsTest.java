package io.sparkdl.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.image.ImageNormalizerModel;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models saved by release 0.1 (test data written by {@link ModelFixtures} at that release) load and give the
 * outputs recorded when they were saved; saved again they take the current layout, whose data Spark reads as
 * Parquet.
 */
class LegacyModelsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final File V01 = new File("src/test/resources/legacy-models/0.1");

    @TempDir
    Path tmp;

    static Transformer load(String name, String path) {
        return switch (name) {
            case "classifier" -> CnnClassifierModel.load(path);
            case "normalizer" -> ImageNormalizerModel.load(path);
            case "pca" -> ImagePCAModel.load(path);
            case "kmeans" -> ImageKMeansModel.load(path);
            case "ensemble" -> EnsembleClassifierModel.load(path);
            default -> PipelineModel.load(path);
        };
    }

    @Test
    void modelsSavedByRelease01GiveTheirRecordedOutputs() throws Exception {
        JsonNode recorded = JSON.readTree(new File(V01, "outputs.json"));
        for (List<String> m : ModelFixtures.MODELS) {
            String name = m.get(0);
            Transformer model = load(name, new File(V01, name).getAbsolutePath());
            assertSameOutputs(name, recorded.get(name), ModelFixtures.outputs(model, name));
        }
        CnnClassifierModel c = CnnClassifierModel.load(new File(V01, "classifier").getAbsolutePath());
        assertEquals(recorded.get("classifierHistory"), ModelFixtures.history(c));
        assertEquals(1, c.normalization().channels());
        assertEquals(10, c.numClasses());
    }

    @Test
    void legacyModelsSavedAgainTakeTheParquetLayout() throws Exception {
        JsonNode recorded = JSON.readTree(new File(V01, "outputs.json"));
        SparkSession spark = SparkTest.spark();
        for (List<String> m : ModelFixtures.MODELS) {
            String name = m.get(0);
            Transformer legacy = load(name, new File(V01, name).getAbsolutePath());
            String again = tmp.resolve(name).toString();
            ((MLWritable) legacy).write().save(again);
            assertSameOutputs(name, recorded.get(name), ModelFixtures.outputs(load(name, again), name));
        }
        String c = tmp.resolve("classifier").toString();
        assertFalse(new File(c, "data/model.json").exists());
        assertEquals(ModelFixtures.history(CnnClassifierModel.load(new File(V01, "classifier").getAbsolutePath())),
                ModelFixtures.history(CnnClassifierModel.load(c)));
        List<Row> history = spark.read().parquet(c + "/history").orderBy("epoch").collectAsList();
        assertEquals(2, history.size());
        assertEquals(recorded.get("classifierHistory").get(1).get("loss").asDouble(),
                history.get(1).getDouble(history.get(1).fieldIndex("loss")));
    }

    /** Every model kind's data reads with spark.read().parquet and has the documented columns. */
    @Test
    void dataOfSavedModelsIsParquet() throws Exception {
        SparkSession spark = SparkTest.spark();
        Map<String, List<String>> columns = Map.of(
                "classifier", List.of("labels", "height", "width", "channels", "normalizationMean",
                        "normalizationStd", "skippedRows", "strategy", "workers", "keptEpoch", "arch"),
                "normalizer", List.of("mean", "std"),
                "pca", List.of("mean", "components", "explainedVariance", "explainedVarianceRatio", "numRows"),
                "kmeans", List.of("clusterCenters", "clusterSizes", "trainingCost", "iterations"),
                "ensemble", List.of("member", "weight", "validationAccuracy"));
        for (Map.Entry<String, List<String>> e : columns.entrySet()) {
            String dir = tmp.resolve(e.getKey()).toString();
            ((MLWritable) load(e.getKey(), new File(V01, e.getKey()).getAbsolutePath())).write().save(dir);
            Dataset<Row> data = spark.read().parquet(dir + "/data");
            assertEquals(e.getValue(), Arrays.asList(data.columns()), e.getKey());
            assertEquals(e.getKey().equals("ensemble") ? 2 : 1, data.count(), e.getKey());
            try (var files = Files.list(Path.of(dir, "data"))) {
                assertEquals(1, files.filter(f -> f.toString().endsWith(".parquet")).count(),
                        e.getKey() + ": one file");
            }
        }
        Row c = spark.read().parquet(tmp.resolve("classifier") + "/data").first();
        assertEquals(List.of(28, 28, 1), List.of(c.getInt(1), c.getInt(2), c.getInt(3)));
        assertEquals("ankle-boot", c.getList(0).get(0));
        Row k = spark.read().parquet(tmp.resolve("kmeans") + "/data").first();
        assertEquals(3 * 28 * 28, k.getList(0).size(), "3 centres of 784 values, row-major");
        assertEquals(List.of("epoch", "loss", "trainAccuracy", "validationAccuracy", "imagesPerSecond", "seconds"),
                Arrays.asList(spark.read().parquet(tmp.resolve("classifier") + "/history").columns()));
        // the ensemble's members had no validation set: null, not NaN
        Dataset<Row> members = spark.read().parquet(tmp.resolve("ensemble") + "/members/0/history");
        assertTrue(members.first().isNullAt(3));
    }

    /**
     * Float results recorded on one CPU differ in the last bits on another (AVX2 and AVX-512 sum in different
     * orders: PCA scores of 6.72 differed by 1.4e-6), so the match is relative as well as absolute.
     */
    private static double tolerance(double expected) {
        return 1e-6 + 1e-5 * Math.abs(expected);
    }

    private static void assertSameOutputs(String name, JsonNode expected, JsonNode actual) {
        assertEquals(expected.size(), actual.size(), name + ": images");
        for (Iterator<String> it = expected.fieldNames(); it.hasNext(); ) {
            String image = it.next();
            JsonNode e = expected.get(image);
            JsonNode a = actual.get(image);
            for (Iterator<String> cols = e.fieldNames(); cols.hasNext(); ) {
                String col = cols.next();
                String where = name + " " + image + " " + col;
                if (e.get(col).isArray()) {
                    assertEquals(e.get(col).size(), a.get(col).size(), where);
                    for (int i = 0; i < e.get(col).size(); i++) {
                        double x = e.get(col).get(i).asDouble();
                        assertEquals(x, a.get(col).get(i).asDouble(), tolerance(x), where + "[" + i + "]");
                    }
                } else if (e.get(col).isNumber()) {
                    assertEquals(e.get(col).asDouble(), a.get(col).asDouble(), tolerance(e.get(col).asDouble()), where);
                } else {
                    assertEquals(e.get(col).asText(), a.get(col).asText(), where);
                }
            }
        }
    }
}
