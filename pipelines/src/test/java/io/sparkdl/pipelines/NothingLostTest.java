package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.train.TrainingDivergedException;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static io.sparkdl.pipelines.SparkDlCliTest.JSON;
import static io.sparkdl.pipelines.SparkDlCliTest.copyClass;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jobs at the edges: nothing a user had is lost, nothing is misread, errors name the option or file. */
class NothingLostTest {
    @TempDir
    static Path tmp;
    static Path data;
    static Path model;
    static final int IMAGES = 3 * 20;

    @BeforeAll
    static void trainOnce() throws Exception {
        data = tmp.resolve("data");
        for (String c : List.of("bag", "coat", "dress")) {
            copyClass(c, data, 20);
        }
        // a link back to the data's own parent: the listing must not follow it (60 images, not 2,460)
        Files.createSymbolicLink(data.resolve("bag/loop"), Path.of(".."));
        model = tmp.resolve("model");
        Path metrics = tmp.resolve("train.json");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model", model.toString(),
                "--epochs", "1", "--master", "local[2]", "--seed", "99999999999", "--workers", "1000",
                "--validation-fraction", "0", "--metrics-json", metrics.toString()}));
        JsonNode m = JSON.readTree(metrics.toFile());
        assertEquals(IMAGES, m.get("numImages").asInt(), "the symlink loop adds no rows");
        assertTrue(m.get("writtenBy").asText().startsWith("spark-dl"));
    }

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    private static String usageError(String... args) {
        return assertThrows(UsageException.class, () -> SparkDl.run(args)).getMessage();
    }

    @Test
    void workersBeyondTheDataAreCappedAndLongSeedsWork() {
        SparkSession s = SparkSession.builder().master("local[2]").getOrCreate();
        try {
            CnnClassifierModel m = CnnClassifierModel.load(model.toString());
            // the automatic batch size for 60 images is 4 (at least 16 steps per epoch): 15 minibatches
            assertEquals(15, m.summary().workers(), "--workers 1000 on 60 images: one worker per minibatch");
        } finally {
            s.stop();
        }
    }

    @Test
    void modelPathsOverlappingTheDataAreRefusedBeforeAnyWork() throws Exception {
        List<String> before = files(data);
        for (Path bad : List.of(data, data.resolve("bag/model"), tmp)) {
            String msg = usageError("train", "--data", data.toString(), "--model", bad.toString(), "--epochs", "1",
                    "--master", "local[2]", "--overwrite");
            assertTrue(msg.startsWith("--model " + bad) && msg.contains("the input --data"), msg);
        }
        String viaLink = usageError("train", "--data", data.resolve("bag/loop").toString(), "--model",
                data.resolve("coat/m").toString(), "--master", "local[2]");
        assertTrue(viaLink.contains("is inside the input --data"), "paths compared after resolving links: " + viaLink);
        assertEquals(before, files(data), "not a file of the data was touched");
        Path folder = Files.createDirectories(tmp.resolve("a-folder"));
        String metricsDir = usageError("train", "--data", data.toString(), "--model", tmp.resolve("m2").toString(),
                "--metrics-json", folder.toString(), "--master", "local[2]");
        assertTrue(metricsDir.contains("--metrics-json") && metricsDir.contains("is a folder"), metricsDir);
        assertFalse(Files.exists(tmp.resolve("m2")), "refused before training, so no model was saved");
    }

    @Test
    void anExistingModelIsReplacedOnlyWithOverwriteAndOnlyIfSparkDlWroteIt() throws Exception {
        Path copy = tmp.resolve("model-copy");
        RetrainTest.copyTree(model, copy);
        String msg = usageError("train", "--data", data.toString(), "--model", copy.toString(), "--epochs", "1",
                "--master", "local[2]");
        assertTrue(msg.contains("already exists; pass --overwrite"), msg);
        Path mine = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(mine.resolve("important.txt"), "keep me");
        String notOurs = usageError("train", "--data", data.toString(), "--model", mine.toString(), "--epochs", "1",
                "--master", "local[2]", "--overwrite");
        assertTrue(notOurs.contains("holds files spark-dl did not write"), notOurs);
        assertEquals("keep me", Files.readString(mine.resolve("important.txt")));
        byte[] oldNet = Files.readAllBytes(copy.resolve("network/network.zip"));
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model", copy.toString(),
                "--epochs", "1", "--master", "local[2]", "--seed", "5", "--overwrite"}));
        assertFalse(java.util.Arrays.equals(oldNet, Files.readAllBytes(copy.resolve("network/network.zip"))));
        assertTrue(Files.isRegularFile(copy.resolve(OutputPaths.MARKER)));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".spark-dl-")), "no temporary left");
        }
    }

    @Test
    void predictNeverWipesAUsersFolderAndReadsEveryName() throws Exception {
        Path odd = tmp.resolve("odd");
        copyClass("bag", odd, 3);
        Path some = Files.list(odd.resolve("bag")).sorted().findFirst().orElseThrow();
        Files.copy(some, odd.resolve("bag/colon:x.png"));
        Files.copy(some, odd.resolve("bag/new\nline.png"));
        Path out = Files.createDirectories(tmp.resolve("user-folder"));
        Files.writeString(out.resolve("important.txt"), "keep me");
        Files.createDirectories(out.resolve("sub"));
        for (String[] extra : new String[][]{{}, {"--overwrite"}}) {
            String[] args = Stream.concat(Stream.of("predict", "--data", odd.toString(), "--model", model.toString(),
                    "--out", out.toString(), "--master", "local[2]"), Stream.of(extra)).toArray(String[]::new);
            String msg = usageError(args);
            assertTrue(msg.startsWith("--out " + out), msg);
        }
        assertEquals(List.of("", "important.txt", "sub"), files(out));
        Path preds = tmp.resolve("preds");
        Path m = tmp.resolve("predict.json");
        assertEquals(0, SparkDl.run(new String[]{"predict", "--data", odd.toString(), "--model", model.toString(),
                "--out", preds.toString(), "--format", "csv", "--master", "local[2]", "--metrics-json", m.toString()}));
        assertEquals(5, JSON.readTree(m.toFile()).get("numImages").asInt(), "the ':' and newline names are read");
        assertEquals(0, JSON.readTree(m.toFile()).get("badFiles").size());
        assertTrue(usageError("predict", "--data", odd.toString(), "--model", model.toString(), "--out",
                preds.toString(), "--master", "local[2]").contains("pass --overwrite"));
        assertEquals(0, SparkDl.run(new String[]{"predict", "--data", odd.toString(), "--model", model.toString(),
                "--out", preds.toString(), "--master", "local[2]", "--metrics-json", m.toString(), "--overwrite"}));
        SparkSession s = SparkSession.builder().master("local[2]").getOrCreate();
        try {
            assertEquals(5, s.read().parquet(preds.toString()).count(), "one prediction per file, parquet replaced csv");
        } finally {
            s.stop();
        }
        assertTrue(usageError("predict", "--data", odd.toString(), "--model", model.toString(), "--out",
                data.resolve("coat").toString(), "--master", "local[2]").contains("--out"));
    }

    @Test
    void shapeMismatchesAndBadValuesNameTheOptionBeforeSparkStarts() throws Exception {
        String small = usageError("train", "--data", data.toString(), "--model", tmp.resolve("x").toString(),
                "--image-size", "8x8");
        assertTrue(small.contains("--image-size 8x8 and --arch lenet do not fit") && small.contains("layers[2] (conv")
                && small.contains("16x16"), small);
        Path arch = tmp.resolve("k40.json");
        Files.writeString(arch, "{\"input\": {\"height\": 28, \"width\": 28, \"channels\": 1}, \"layers\": ["
                + "{\"type\": \"conv\", \"filters\": 4, \"kernel\": 40}, {\"type\": \"output\"}]}");
        String k40 = usageError("train", "--data", data.toString(), "--model", tmp.resolve("x").toString(),
                "--arch", arch.toString());
        assertTrue(k40.contains("--arch " + arch) && k40.contains("layers[0] (conv, kernel 40x40) gets 28x28"), k40);
        assertTrue(usageError("train", "--data", data.toString(), "--model", tmp.resolve("x").toString(),
                "--image-size", "100000x100000").contains("between 1 and 8192"));
        String lr = usageError("train", "--data", data.toString(), "--model", tmp.resolve("x").toString(),
                "--learning-rate", "1e308");
        assertTrue(lr.startsWith("--learning-rate 1.0E308 is not valid: Learning rate, in (0, ") && !lr.contains("cnn_"),
                lr);
        assertTrue(usageError("cluster", "--data", data.toString(), "--seed", "1x").contains("whole number"));
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void moreClustersThanImagesAreCappedWithAWarning() throws Exception {
        Path m = tmp.resolve("cluster.json");
        assertEquals(0, SparkDl.run(new String[]{"cluster", "--data", data.toString(), "--k", "100",
                "--master", "local[2]", "--metrics-json", m.toString()}));
        JsonNode r = JSON.readTree(m.toFile());
        assertEquals(100, r.get("requestedK").asInt());
        assertTrue(r.get("k").asInt() <= IMAGES, r.toString());
        for (JsonNode size : r.get("clusterSizes")) {
            assertTrue(size.asLong() > 0, "no empty clusters: " + r.get("clusterSizes"));
        }
    }

    @Test
    void aDivergedRunSaysItIsAtChanceLevel() throws Exception {
        Path m = tmp.resolve("diverged.json");
        // one step of 64 per epoch: the weights stay finite, the predictions constant
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model",
                tmp.resolve("diverged").toString(), "--epochs", "1", "--learning-rate", "1000", "--updater", "sgd",
                "--batch-size", "64", "--validation-fraction", "0", "--master", "local[2]", "--metrics-json",
                m.toString()}));
        JsonNode r = JSON.readTree(m.toFile());
        assertTrue(r.get("atChanceLevel").asBoolean(), r.get("accuracy") + " against " + r.get("chanceAccuracy"));
    }

    @Test
    void aRunWhoseLossIsNoLongerFiniteStopsAndSavesNothing() {
        // the automatic small-data batch (4 images, 15 steps) lets sgd at 1000 overflow
        Path model = tmp.resolve("nan-model");
        Path m = tmp.resolve("nan.json");
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> SparkDl.run(new String[]{
                "train", "--data", data.toString(), "--model", model.toString(), "--epochs", "1", "--learning-rate",
                "1000", "--updater", "sgd", "--validation-fraction", "0", "--master", "local[2]", "--metrics-json",
                m.toString()}));
        assertTrue(e.getMessage().contains("epoch 1") && e.getMessage().contains("nothing was saved"),
                e.getMessage());
        assertFalse(Files.exists(model), "no model");
        assertFalse(Files.exists(m), "no metrics");
    }

    @Test
    void aPipelineDefinitionsRelativePathsAreRelativeToItsFile() throws Exception {
        Path defs = Files.createDirectories(tmp.resolve("defs"));
        RetrainTest.copyTree(data, defs.resolve("images"));
        Files.writeString(defs.resolve("job.json"), """
                {"source": {"data": "images"},
                 "estimator": {"type": "CnnClassifier", "epochs": 1, "validationFraction": 0},
                 "outputs": {"model": "out/model", "metricsJson": "out/metrics.json"},
                 "spark": {"master": "local[2]"}}""");
        // run from the test's directory (pipelines/), not from defs/
        assertEquals(0, SparkDl.run(new String[]{"run", defs.resolve("job.json").toString()}));
        assertEquals(IMAGES, JSON.readTree(defs.resolve("out/metrics.json").toFile()).get("numImages").asInt());
        assertTrue(Files.isDirectory(defs.resolve("out/model/network")));
        assertFalse(Files.exists(Path.of("out")), "nothing written relative to the current directory");
    }

    @Test
    void theTorchEngineTrainsFromTheCommandLine() throws Exception {
        Path m = tmp.resolve("torch.json");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model",
                tmp.resolve("torch-model").toString(), "--epochs", "2", "--engine", "torch", "--batch-size", "16",
                "--validation-fraction", "0", "--master", "local[2]", "--metrics-json", m.toString()}));
        assertEquals(2, JSON.readTree(m.toFile()).get("history").size());
        // the saved model keeps the engine, so explain computes its saliency map on libtorch
        // (the metadata's part file is named differently on Spark 3.5 and 4: read all of them)
        try (Stream<Path> parts = Files.list(tmp.resolve("torch-model/metadata"))) {
            assertTrue(parts.filter(p -> p.getFileName().toString().startsWith("part-")).anyMatch(p -> {
                try {
                    return Files.readString(p).contains("\"engine\":\"torch\"");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }), "the saved metadata keeps engine torch");
        }
        Path image = Files.list(data.resolve("dress")).sorted().findFirst().orElseThrow();
        Path png = tmp.resolve("torch-map.png");
        assertEquals(0, SparkDl.run(new String[]{"explain", "--model", tmp.resolve("torch-model").toString(),
                "--image", image.toString(), "--out", png.toString(), "--master", "local[2]"}));
        assertTrue(new File(png.toString()).length() > 1000);
        assertTrue(usageError("train", "--data", data.toString(), "--model", tmp.resolve("y").toString(),
                "--engine", "tensorflow").startsWith("--engine tensorflow is not valid: Training engine"));
    }

    @Test
    void explainReplacesOnlyItsOwnPng() throws Exception {
        Path image = Files.list(data.resolve("coat")).sorted().findFirst().orElseThrow();
        Path png = tmp.resolve("map.png");
        Files.write(png, Files.readAllBytes(image));    // a PNG spark-dl did not write
        assertTrue(usageError("explain", "--model", model.toString(), "--image", image.toString(), "--out",
                png.toString(), "--overwrite").contains("holds files spark-dl did not write"));
        Path mine = tmp.resolve("mine.png");
        assertEquals(0, SparkDl.run(new String[]{"explain", "--model", model.toString(), "--image", image.toString(),
                "--out", mine.toString(), "--master", "local[2]"}));
        assertTrue(usageError("explain", "--model", model.toString(), "--image", image.toString(), "--out",
                mine.toString()).contains("pass --overwrite"));
        assertEquals(0, SparkDl.run(new String[]{"explain", "--model", model.toString(), "--image", image.toString(),
                "--out", mine.toString(), "--master", "local[2]", "--overwrite"}));
        assertTrue(new File(mine.toString()).length() > 1000);
    }
}
