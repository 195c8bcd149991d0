package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line, run in-process on test-data/ (each command starts and stops its own local Spark). */
class SparkDlCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path tmp;
    static Path model;
    static JsonNode trainMetrics;

    static String data() {
        return new File("../test-data/fashion-mnist-small").getAbsolutePath();
    }

    @BeforeAll
    static void train() throws Exception {
        model = tmp.resolve("model");
        Path metrics = tmp.resolve("train.json");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data(), "--model", model.toString(),
                "--epochs", "4", "--workers", "2", "--master", "local[2]", "--seed", "3",
                "--metrics-json", metrics.toString(), "--report-dir", tmp.resolve("train-report").toString()}));
        trainMetrics = JSON.readTree(metrics.toFile());
    }

    @Test
    void runsAReadyPipelineDefinitionWithOverrides() throws Exception {
        Path out = tmp.resolve("run");
        assertEquals(0, SparkDl.run(new String[]{"run", new File("fashion-lenet-small.json").getAbsolutePath(),
                "--data", data(), "--epochs", "1", "--model", out.resolve("model").toString(),
                "--metrics-json", out.resolve("m.json").toString(), "--report-dir", out.resolve("r").toString()}));
        JsonNode m = JSON.readTree(out.resolve("m.json").toFile());
        assertEquals(1, m.get("history").size(), "--epochs 1 overrides estimator.epochs 5");
        assertEquals("validation", m.get("evaluatedOn").asText(), "estimator.validationFraction is applied");
        assertTrue(Files.isRegularFile(out.resolve("r/index.html")));
        assertTrue(new File(out.toFile(), "model/network/network.zip").isFile());
    }

    @Test
    void clustersPixelsAndEmbeddingsWithAReport() throws Exception {
        Path out = tmp.resolve("cluster");
        assertEquals(0, SparkDl.run(new String[]{"run", new File("fashion-cluster-small.json").getAbsolutePath(),
                "--data", data(), "--metrics-json", out.resolve("pixels.json").toString(),
                "--report-dir", out.resolve("report").toString(), "--out", out.resolve("assign").toString()}));
        JsonNode px = JSON.readTree(out.resolve("pixels.json").toFile());
        assertEquals(10, px.get("k").asInt());
        assertEquals(1000, px.get("numImages").asInt());
        long total = 0;
        for (JsonNode c : px.get("clusterSizes")) {
            total += c.asLong();
        }
        assertEquals(1000, total);
        assertTrue(px.get("nmi").asDouble() > 0.3, "clusters follow the classes somewhat: " + px.get("nmi"));
        assertTrue(px.get("pcaExplainedVariance").asDouble() > 0.5);
        String html = Files.readString(out.resolve("report/index.html"));
        assertTrue(html.contains("First two principal components") && html.contains("Images nearest each centre"));
        assertTrue(html.split("<figure>", -1).length - 1 >= 10 * 8 - 5, "eight images per centre");
        SparkSession s = SparkSession.builder().master("local[2]").getOrCreate();
        try {
            assertEquals(1000, s.read().parquet(out.resolve("assign").toString()).count());
        } finally {
            s.stop();
        }
        assertEquals(0, SparkDl.run(new String[]{"cluster", "--data", data(), "--k", "10", "--features",
                "cnn:" + model, "--master", "local[2]", "--metrics-json", out.resolve("cnn.json").toString(),
                "--out", out.resolve("cnn-csv").toString(), "--format", "csv", "--model",
                out.resolve("cnn-pipeline").toString()}));
        JsonNode cnn = JSON.readTree(out.resolve("cnn.json").toFile());
        SparkSession s2 = SparkSession.builder().master("local[2]").getOrCreate();
        try {
            Dataset<Row> csv = s2.read().option("header", "true").csv(out.resolve("cnn-csv").toString());
            assertEquals(List.of("path", "label", "cluster", "distance"), List.of(csv.columns()));
            assertEquals(1000, csv.count());
            org.apache.spark.ml.PipelineModel pm = org.apache.spark.ml.PipelineModel.load(
                    out.resolve("cnn-pipeline").toString());
            assertEquals(2, pm.stages().length, "featurizer and k-means");
            Dataset<Row> decoded = new io.sparkdl.image.ImageDecoder().setSize(28, 28).setChannels(1)
                    .transform(io.sparkdl.image.ImageSources.readFolder(s2, data()));
            Dataset<Row> again = pm.transform(decoded).select("path", "cluster");
            Dataset<Row> before = csv.select(col("path"), col("cluster").cast("int"));
            assertEquals(1000, again.join(before, List.of("path", "cluster").toArray(new String[0])).count(),
                    "the saved pipeline assigns every image to the same cluster");
        } finally {
            s2.stop();
        }
        assertTrue(cnn.get("nmi").asDouble() > px.get("nmi").asDouble(),
                "CNN embeddings cluster by class better than pixels: " + cnn.get("nmi") + " vs " + px.get("nmi"));
        UsageException e = assertThrows(UsageException.class, () -> SparkDl.run(new String[]{
                "cluster", "--data", data(), "--features", "hog"}));
        assertTrue(e.getMessage().contains("--features"), e.getMessage());
    }

    @Test
    void trainsAnEnsembleThatEvaluateAndPredictAccept() throws Exception {
        Path ens = tmp.resolve("ensemble");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data(), "--model", ens.toString(), "--epochs", "2",
                "--ensemble", "2", "--combination", "vote", "--workers", "2", "--master", "local[2]", "--seed", "5"}));
        Path eval = tmp.resolve("ens-eval.json");
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data(), "--model", ens.toString(),
                "--master", "local[2]", "--metrics-json", eval.toString()}));
        assertTrue(JSON.readTree(eval.toFile()).get("accuracy").asDouble() > 0.5);
        assertEquals(0, SparkDl.run(new String[]{"predict", "--data", data(), "--model", ens.toString(), "--out",
                tmp.resolve("ens-pred").toString(), "--master", "local[2]"}));
        UsageException e = assertThrows(UsageException.class, () -> SparkDl.run(new String[]{
                "train", "--data", data(), "--model", ens.toString(), "--ensemble", "2", "--combine", "median"}));
        assertTrue(e.getMessage().contains("--combination median is not valid"), e.getMessage());
    }

    @Test
    void badPipelineDefinitionsFailWithOneLineNamingTheField() throws Exception {
        Path f = tmp.resolve("bad.json");
        String[][] cases = {
            {"{\"source\": {\"data\": \"x\"}, \"estimator\": {\"epochz\": 3}}", "unknown field estimator.epochz"},
            {"{\"source\": {\"data\": \"x\"}, \"outputs\": {\"model\": \"m\"}, \"estimator\": {\"epochs\": \"three\"}}",
                "estimator.epochs must be an integer"},
            {"{\"source\": {\"data\": \"x\"}}", "missing field outputs.model"},
            {"{\"source\": {\"data\": \"x\"}, \"outputs\": {\"model\": \"m\"}, \"estimator\": {\"type\": \"SVM\"}}",
                "estimator.type must be CnnClassifier"},
            {"{\"source\": ", "not valid JSON at line 1"},
        };
        for (String[] c : cases) {
            Files.writeString(f, c[0]);
            UsageException e = assertThrows(UsageException.class,
                    () -> SparkDl.run(new String[]{"run", f.toString()}));
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("bad.json"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
        UsageException e = assertThrows(UsageException.class,
                () -> SparkDl.run(new String[]{"run", new File("fashion-lenet-small.json").getAbsolutePath(),
                        "--epochz", "1"}));
        assertTrue(e.getMessage().contains("--epochz"), e.getMessage());

        // the training-quality fields set the classifier's params by their names
        TrainCommand bn = (TrainCommand) PipelineDefinition.jobs(new File("fashion-bncnn.json").getAbsolutePath(),
                List.of()).get(0);
        assertEquals("bncnn", bn.cnn.getArch());
        assertEquals("translate=0.08,rotate=8,flip=horizontal", bn.cnn.getAugmentation());
        assertEquals("cosine", bn.cnn.getLrSchedule());
        assertEquals(4, bn.cnn.getEarlyStoppingPatience());
        assertTrue(bn.normalize);
        Files.writeString(f, Files.readString(new File("fashion-bncnn.json").toPath())
                .replace("\"normalize\": true", "\"normalize\": false"));
        assertTrue(!((TrainCommand) PipelineDefinition.jobs(f.toString(), List.of()).get(0)).normalize);
    }

    @Test
    void reportsAreSelfContainedAndRenderInChromium() throws Exception {
        Path evalReport = tmp.resolve("eval-report");
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data(), "--model", model.toString(),
                "--master", "local[2]", "--report-dir", evalReport.toString()}));
        for (Path dir : List.of(tmp.resolve("train-report"), evalReport)) {
            String html = Files.readString(dir.resolve("index.html"));
            for (String part : List.of("Confusion matrix", "Per-class metrics", "Misclassified images", "images/s",
                    "<figure>", "true ")) {
                assertTrue(html.contains(part), dir + " lacks " + part);
            }
            assertTrue(!html.contains("src=\"http") && !html.contains("<script"), "self-contained: " + dir);
        }
        String train = Files.readString(tmp.resolve("train-report/index.html"));
        assertTrue(train.contains("Loss per epoch") || train.contains("loss per epoch"), "training curves");
        int charts = train.split("data:image/png;base64,", -1).length - 1;
        assertTrue(charts >= 3 + 1, "loss, accuracy, confusion charts and a gallery: " + charts);
        ReportScreenshots.assertRendersNonBlank(tmp.resolve("train-report/index.html"), tmp.resolve("train.png"));
    }

    @Test
    void trainWritesModelAndMetrics() {
        assertTrue(new File(model.toFile(), "metadata").isDirectory());
        assertTrue(new File(model.toFile(), "network/network.zip").isFile());
        for (String k : List.of("accuracy", "weightedF1", "labels", "perClass", "confusionMatrix", "numImages",
                "badFiles", "history")) {
            assertTrue(trainMetrics.has(k), "metrics lack " + k + ": " + trainMetrics);
        }
        assertEquals(1000, trainMetrics.get("numImages").asInt());
        assertEquals(10, trainMetrics.get("labels").size());
        assertEquals(4, trainMetrics.get("history").size());
        JsonNode e = trainMetrics.get("history").get(3);
        for (String k : List.of("epoch", "loss", "trainAccuracy", "validationAccuracy", "imagesPerSecond")) {
            assertTrue(e.has(k), k);
        }
        assertTrue(e.get("imagesPerSecond").asDouble() > 0);
        JsonNode bag = trainMetrics.get("perClass").get("bag");
        for (String k : List.of("precision", "recall", "f1", "support")) {
            assertTrue(bag.has(k), k);
        }
    }

    @Test
    void evaluateAndPredictWithBadFiles() throws Exception {
        Path dir = tmp.resolve("eval-data");
        copyClass("bag", dir, 20);
        copyClass("trouser", dir, 20);
        Files.write(dir.resolve("bag/broken.png"), new byte[]{1, 2, 3});
        Files.writeString(dir.resolve("trouser/readme.txt"), "not an image");
        Path metrics = tmp.resolve("eval.json");
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", dir.toString(), "--model", model.toString(),
                "--master", "local[2]", "--metrics-json", metrics.toString()}));
        JsonNode m = JSON.readTree(metrics.toFile());
        assertEquals(40, m.get("numImages").asInt());
        assertEquals(2, m.get("badFiles").size());
        assertTrue(m.get("badFiles").get(0).get("path").asText().contains("/"));
        assertTrue(m.get("badFiles").get(0).get("reason").asText().length() > 3);
        assertTrue(m.get("accuracy").asDouble() > 0.6, "accuracy on bags and trousers " + m.get("accuracy"));

        for (String format : List.of("parquet", "csv")) {
            Path out = tmp.resolve("pred-" + format);
            assertEquals(0, SparkDl.run(new String[]{"predict", "--data", dir.toString(), "--model", model.toString(),
                    "--out", out.toString(), "--format", format, "--master", "local[2]"}));
            SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                    .getOrCreate();
            try {
                List<Row> rows = spark.read().format(format).option("header", "true").load(out.toString())
                        .collectAsList();
                assertEquals(42, rows.size(), "every file gets a row, bad ones with an error");
                Row first = rows.stream().filter(r -> r.getAs("error") == null).findFirst().orElseThrow();
                assertTrue(List.of("bag", "trouser", "tshirt", "pullover", "dress", "coat", "sandal", "shirt",
                        "sneaker", "ankle-boot").contains(first.<String>getAs("predictedLabel")));
                assertTrue(rows.stream().anyMatch(r -> r.getAs("error") != null));
            } finally {
                spark.stop();
            }
        }

        Exception fatal = assertThrows(Exception.class, () -> SparkDl.run(new String[]{"evaluate", "--data",
                dir.toString(), "--model", model.toString(), "--master", "local[2]", "--fail-on-bad-files"}));
        assertTrue(chain(fatal).contains("Cannot decode image"), chain(fatal));
    }

    @Test
    void trainsAJsonArchitectureAtAChosenSizeAndChannels() throws Exception {
        Path data = tmp.resolve("two-classes");
        copyClass("sandal", data, 40);
        copyClass("trouser", data, 40);
        Path arch = tmp.resolve("tiny.json");
        Files.writeString(arch, """
                {"layers": [{"type": "conv", "filters": 6, "kernel": 3, "padding": 1, "activation": "relu"},
                            {"type": "batchnorm"}, {"type": "maxpool", "kernel": 2},
                            {"type": "dropout", "rate": 0.2}, {"type": "dense", "units": 16}, {"type": "output"}]}""");
        Path m = tmp.resolve("tiny-model");
        Path metrics = tmp.resolve("tiny.json.metrics");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model", m.toString(),
                "--arch", arch.toString(), "--image-size", "16x12", "--channels", "3", "--epochs", "3",
                "--updater", "momentum", "--learning-rate", "0.05", "--master", "local[2]",
                "--validation-fraction", "0", "--metrics-json", metrics.toString()}));
        JsonNode j = JSON.readTree(metrics.toFile());
        assertTrue(j.get("accuracy").asDouble() > 0.8, "sandals vs trousers " + j.get("accuracy"));
        assertEquals("training", j.get("evaluatedOn").asText());
        Path eval = tmp.resolve("tiny-eval.json");
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data.toString(), "--model", m.toString(),
                "--master", "local[2]", "--metrics-json", eval.toString()}));
        assertEquals(80, JSON.readTree(eval.toFile()).get("numImages").asInt());
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"train", "--data",
                data.toString(), "--model", "x", "--arch", tmp.resolve("nope.json").toString()}))
                .getMessage().contains("--arch"));
    }

    @Test
    void trainsWithTheQualityOptionsThenFineTunesAndExplains() throws Exception {
        Path data = tmp.resolve("quality");
        for (String c : new String[]{"sandal", "trouser", "bag"}) {
            copyClass(c, data, 40);
        }
        Path m = tmp.resolve("quality-model");
        Path metrics = tmp.resolve("quality.json");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model", m.toString(),
                "--arch", "bncnn", "--epochs", "3", "--normalize", "--augment", "rotate=10,translate=0.1,flip=horizontal",
                "--lr-schedule", "step:1:0.5", "--weight-decay", "1e-4", "--validation-fraction", "0.25",
                "--early-stopping", "1", "--updater", "nesterov", "--momentum", "0.8", "--learning-rate", "0.02",
                "--master", "local[2]", "--metrics-json", metrics.toString()}));
        // evaluate needs no normalisation flag: the model keeps its own
        io.sparkdl.classification.CnnClassifierModel saved = loadModel(m);
        assertTrue(saved.normalization() != null);
        Path eval = tmp.resolve("quality-eval.json");
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data.toString(), "--model", m.toString(),
                "--master", "local[2]", "--metrics-json", eval.toString()}));
        assertTrue(JSON.readTree(eval.toFile()).get("accuracy").asDouble() > 0.5,
                "sandal, trouser, bag: " + JSON.readTree(eval.toFile()).get("accuracy"));

        // fine-tune the LeNet trained in @BeforeAll on two new classes with its conv layers frozen
        Path two = tmp.resolve("quality-two");
        copyClass("sneaker", two, 30);
        copyClass("shirt", two, 30);
        Path tuned = tmp.resolve("tuned-model");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", two.toString(), "--model", tuned.toString(),
                "--initial-model", model.toString(), "--initial-classes", "replace", "--freeze-layers", "4", "--epochs", "1",
                "--validation-fraction", "0", "--master", "local[2]"}));
        io.sparkdl.classification.CnnClassifierModel t = loadModel(tuned);
        assertEquals(List.of("shirt", "sneaker"), List.of(t.labels()), "a new output layer for the new label set");
        io.sparkdl.classification.CnnClassifierModel base = loadModel(model);
        assertTrue(java.util.Arrays.equals(base.network().getLayer(0).params().toFloatVector(),
                t.network().getLayer(0).params().toFloatVector()), "the first conv layer stayed frozen");

        Path png = tmp.resolve("explain/sal.png");
        File image = new File(data.toFile(), "sandal").listFiles()[0];
        assertEquals(0, SparkDl.run(new String[]{"explain", "--model", m.toString(), "--image", image.toString(),
                "--out", png.toString(), "--class", "sandal"}));
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        assertTrue(img.getWidth() > 3 * 28 && img.getHeight() > 28, img.getWidth() + "x" + img.getHeight());
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3) {
            for (int x = img.getWidth() / 3; x < 2 * img.getWidth() / 3; x += 3) {
                colours.add(img.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 10, "the heat map is not blank: " + colours.size() + " colours");
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"explain", "--model",
                m.toString(), "--image", image.toString(), "--out", png.toString(), "--class", "giraffe"}))
                .getMessage().contains("giraffe"));
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"explain", "--model",
                m.toString(), "--image", tmp.resolve("none.png").toString(), "--out", png.toString()}))
                .getMessage().contains("--image"));
        for (String[] bad : new String[][]{{"--augment", "spin=3"}, {"--lr-schedule", "linear"},
                {"--early-stopping", "2", "--validation-fraction", "0"}, {"--freeze-layers", "2"},
                {"--momentum", "1.5"}}) {
            String[] args = new String[5 + bad.length];
            System.arraycopy(new String[]{"train", "--data", data.toString(), "--model", "x"}, 0, args, 0, 5);
            System.arraycopy(bad, 0, args, 5, bad.length);
            assertThrows(UsageException.class, () -> SparkDl.run(args), String.join(" ", bad));
        }
    }

    @Test
    void usageErrorsAreOneClearLine() throws Exception {
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"train", "--data",
                data(), "--model", "x", "--epohcs", "3"})).getMessage().contains("unknown option --epohcs"));
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"train", "--data",
                tmp.resolve("missing").toString(), "--model", "x"})).getMessage().contains("does not exist"));
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"fit"}))
                .getMessage().contains("unknown command"));
        assertTrue(assertThrows(UsageException.class, () -> SparkDl.run(new String[]{"train", "--data",
                data(), "--model", "x", "--image-size", "big"})).getMessage().contains("--image-size"));

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Exception e = assertThrows(IllegalArgumentException.class, () -> SparkDl.run(new String[]{"train", "--data",
                empty.toString(), "--model", tmp.resolve("m2").toString(), "--master", "local[1]"}));
        assertTrue(e.getMessage().contains("no usable images"), e.getMessage());

        Path single = tmp.resolve("single");
        copyClass("bag", single, 5);
        Exception one = assertThrows(Exception.class, () -> SparkDl.run(new String[]{"train", "--data",
                single.toString(), "--model", tmp.resolve("m3").toString(), "--master", "local[1]"}));
        assertTrue(chain(one).contains("at least 2 classes"), chain(one));
    }

    /** Loads a model the CLI saved (each command stops its own Spark, so a local one is started here). */
    static io.sparkdl.classification.CnnClassifierModel loadModel(Path dir) {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("load").getOrCreate();
        try {
            return io.sparkdl.classification.CnnClassifierModel.load(dir.toString());
        } finally {
            spark.stop();
        }
    }

    static void copyClass(String label, Path to, int n) throws Exception {
        Path dst = Files.createDirectories(to.resolve(label));
        File[] files = new File(data(), label).listFiles();
        java.util.Arrays.sort(files);
        for (int i = 0; i < n; i++) {
            Files.copy(files[i].toPath(), dst.resolve(files[i].getName()));
        }
    }

    static String chain(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }
}
