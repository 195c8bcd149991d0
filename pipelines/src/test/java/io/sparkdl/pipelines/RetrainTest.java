package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The nightly retraining job on a small lake made from test-data/ (dates as partitions). */
class RetrainTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] FIRST = {"bag", "sandal", "trouser", "sneaker"};
    static final String[] MORE = {"bag", "sandal", "trouser", "sneaker", "tshirt"};
    @TempDir
    Path tmp;

    /** Copies images [from, from + n) of each class into lake/ingest_date=DATE/CLASS/. */
    static void partition(Path lake, String date, String[] classes, int from, int n) throws IOException {
        for (String c : classes) {
            Path src = new File("../test-data/fashion-mnist-small", c).toPath();
            Path dst = Files.createDirectories(lake.resolve("ingest_date=" + date).resolve(c));
            List<Path> files;
            try (Stream<Path> s = Files.list(src)) {
                files = s.sorted().toList();
            }
            for (Path f : files.subList(from, from + n)) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
    }

    static Path holdout(Path dir) throws IOException {
        Path h = dir.resolve("holdout");
        if (!Files.exists(h)) {
            partition(dir, "holdout", MORE, 80, 20);
            Files.move(dir.resolve("ingest_date=holdout"), h);
        }
        return h;
    }

    static String[] args(Path lake, Path reg, Path holdout, Path metrics, String... extra) {
        List<String> a = new ArrayList<>(List.of("retrain", "--lake", lake.toString(), "--registry", reg.toString(),
                "--holdout", holdout.toString(), "--workers", "2", "--batch-size", "16",
                "--master", "local[2]", "--metrics-json", metrics.toString(), "--overwrite"));
        a.addAll(List.of(extra));
        if (!a.contains("--epochs")) {
            a.addAll(List.of("--epochs", "2"));
        }
        return a.toArray(new String[0]);
    }

    @Test
    void threeNightsOfArrivingPartitions() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        Path m = tmp.resolve("m.json");
        // night 1: first data, trained from scratch and promoted
        partition(lake, "2026-11-20", FIRST, 0, 25);
        assertEquals(0, SparkDl.run(args(lake, reg, hold, m)));
        JsonNode n1 = JSON.readTree(m.toFile());
        assertTrue(n1.get("promoted").asBoolean());
        String v1 = n1.get("version").asText();
        assertEquals(v1, champion(reg));
        // the same night again: nothing new, nothing changes
        assertEquals(0, SparkDl.run(args(lake, reg, hold, m)));
        assertFalse(JSON.readTree(m.toFile()).get("changed").asBoolean());
        assertEquals(1, versions(reg).size());
        // night 2: a new class arrives; the warm-started challenger widens its output layer. A reader polls the
        // registry meanwhile: the state is always there and CHAMPION always names a version with its manifest.
        partition(lake, "2026-11-21", MORE, 25, 25);
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        List<String> seenWrong = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread reader = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    JSON.readTree(Files.readString(reg.resolve("state.json")));
                    String c = Files.readString(reg.resolve("CHAMPION")).trim();
                    if (!Files.isRegularFile(reg.resolve("versions").resolve(c).resolve("MANIFEST.json"))) {
                        seenWrong.add("champion " + c + " without a manifest");
                    }
                    reads.incrementAndGet();
                } catch (IOException e) {
                    seenWrong.add(e.toString());
                }
            }
        });
        reader.start();
        try {
            assertEquals(0, SparkDl.run(args(lake, reg, hold, m, "--freeze-layers", "2")));
        } finally {
            reader.interrupt();
            reader.join();
        }
        assertTrue(reads.get() > 100, "the reader ran: " + reads);
        assertEquals(List.of(), seenWrong);
        JsonNode n2 = JSON.readTree(m.toFile());
        String v2 = n2.get("version").asText();
        JsonNode meta2 = JSON.readTree(reg.resolve("versions").resolve(v2).resolve("metrics.json").toFile());
        assertEquals(5, meta2.get("labels").size(), "tshirt widened the output layer");
        assertEquals(v1, meta2.get("parentVersion").asText());
        assertTrue(n2.get("promoted").asBoolean(), "the champion cannot classify tshirts: " + n2);
        // night 3: more of the same; a version is written whether or not it wins
        partition(lake, "2026-11-22", MORE, 50, 25);
        assertEquals(0, SparkDl.run(args(lake, reg, hold, m, "--min-improvement", "0.5")));
        JsonNode n3 = JSON.readTree(m.toFile());
        assertFalse(n3.get("promoted").asBoolean(), "a 50-point improvement is not reached: " + n3);
        assertEquals(3, versions(reg).size());
        assertEquals(v2, champion(reg), "the champion stays");
        JsonNode state = JSON.readTree(reg.resolve("state.json").toFile());
        assertEquals("2026-11-22", state.get("watermark").asText());
        for (String v : versions(reg)) {
            Path dir = reg.resolve("versions").resolve(v);
            JsonNode meta = JSON.readTree(dir.resolve("metrics.json").toFile());
            for (String k : List.of("holdoutAccuracy", "partitions", "params", "parentVersion", "started", "finished",
                    "projectVersion", "promoted")) {
                assertTrue(meta.has(k), v + " metrics lack " + k);
            }
            assertTrue(Files.isRegularFile(dir.resolve("report/index.html")));
            assertTrue(Files.isDirectory(dir.resolve("model")));
        }
        JsonNode meta3 = JSON.readTree(reg.resolve("versions").resolve(n3.get("version").asText())
                .resolve("metrics.json").toFile());
        assertEquals(List.of("2026-11-20", "2026-11-21"), JSON.convertValue(meta3.get("replayedPartitions"), List.class));
        assertFalse(Files.exists(reg.resolve("work").resolve(n3.get("version").asText())), "work folder cleaned");
    }

    /**
     * Kills the job (Runtime.halt, as SIGKILL: no shutdown hooks) at each step of night 2, checks the
     * registry is valid, then re-runs: the re-run finishes the same version.
     */
    @Test
    void killedAtAnyStepTheRegistryStaysValidAndTheNextRunCompletes() throws Exception {
        Path lake = tmp.resolve("lake");
        Path base = tmp.resolve("after-night-1");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 15);
        assertEquals(0, SparkDl.run(args(lake, base, hold, tmp.resolve("m.json"), "--epochs", "1")));
        String v1 = champion(base);
        partition(lake, "2026-11-21", MORE, 15, 15);
        for (String step : List.of("begun", "trained", "published", "committed")) {
            Path reg = tmp.resolve("registry-" + step);
            copyTree(base, reg);
            Process p = launch(args(lake, reg, hold, tmp.resolve(step + ".json"), "--epochs", "1"), step);
            assertEquals(137, p.exitValue(), "halted at " + step);
            // valid: CHAMPION names a complete version; state.json parses; the watermark never outruns a version
            String champ = champion(reg);
            assertTrue(champ.equals(v1) || !step.equals("begun"), step + ": " + champ);
            assertTrue(Files.isRegularFile(reg.resolve("versions").resolve(champ).resolve("metrics.json")), step);
            JsonNode st = JSON.readTree(reg.resolve("state.json").toFile());
            if (st.get("watermark").asText().equals("2026-11-21")) {
                assertTrue(Files.isRegularFile(reg.resolve("versions").resolve(st.get("lastVersion").asText())
                        .resolve("metrics.json")), step + ": the watermark moved with a complete version");
            }
            assertEquals(0, SparkDl.run(args(lake, reg, hold, tmp.resolve(step + "-rerun.json"), "--epochs", "1")));
            JsonNode after = JSON.readTree(reg.resolve("state.json").toFile());
            assertEquals("2026-11-21", after.get("watermark").asText(), step);
            assertEquals(after.get("champion").asText(), champion(reg), step + ": CHAMPION follows the state");
            assertEquals(2, versions(reg).size(), step + ": one version for night 2, not two");
        }
    }

    /** A real SIGKILL in the middle of training; the re-run with --resume continues from the checkpoint. */
    @Test
    void sigkillMidTrainingThenResumeContinuesFromTheLastEpoch() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 30);
        String[] a = args(lake, reg, hold, tmp.resolve("m.json"), "--epochs", "6");
        ProcessBuilder pb = builder(a);
        Process p = pb.start();
        boolean killed = false;
        StringBuilder seen = new StringBuilder();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                seen.append(line).append('\n');
                if (line.contains("checkpoint after epoch 2 written")) {
                    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
                    killed = true;
                    break;
                }
            }
        }
        assertTrue(killed, "no checkpoint line seen:\n" + seen);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue());
        assertFalse(Files.exists(reg.resolve("CHAMPION")), "nothing was promoted yet");
        List<String> resumeArgs = new ArrayList<>(List.of(a));
        resumeArgs.add("--resume");
        Process q = builder(resumeArgs.toArray(new String[0])).redirectErrorStream(true).start();
        String out = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(q.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, q.exitValue(), out);
        assertTrue(out.contains("resuming from the checkpoint after epoch 2"), out);
        assertFalse(out.contains("epoch 1: loss"), "epochs 1-2 are not run again:\n" + out);
        assertNotNull(champion(reg));
    }

    @Test
    void parquetLakesWorkToo() throws Exception {
        Path folders = tmp.resolve("folders");
        partition(folders, "2026-11-20", FIRST, 0, 15);
        partition(folders, "2026-11-21", FIRST, 15, 15);
        Path table = tmp.resolve("table");
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().master("local[2]")
                .getOrCreate();
        try {
            Dataset<Row> all = null;
            for (String d : List.of("2026-11-20", "2026-11-21")) {
                Dataset<Row> p = io.sparkdl.image.ImageSources.readFolder(spark,
                        folders.resolve("ingest_date=" + d).toString())
                        .select(org.apache.spark.sql.functions.col("content").as("bytes"),
                                org.apache.spark.sql.functions.col("label"),
                                org.apache.spark.sql.functions.lit(d).as("ingest_date"));
                all = all == null ? p : all.union(p);
            }
            all.write().parquet(table.toString());
        } finally {
            spark.stop();
        }
        Path reg = tmp.resolve("registry");
        Path m = tmp.resolve("m.json");
        assertEquals(0, SparkDl.run(args(table, reg, holdout(tmp), m, "--epochs", "1")));
        JsonNode run = JSON.readTree(m.toFile());
        assertEquals("2026-11-21", run.get("watermark").asText());
        JsonNode meta = JSON.readTree(reg.resolve("versions").resolve(run.get("version").asText())
                .resolve("metrics.json").toFile());
        assertEquals(2 * 4 * 15, meta.get("trainingImages").asInt(), "both dates, four classes, 15 images each");
    }

    /**
     * The registry's own lock: a second run while one holds it exits 75 with one line (through the nightly
     * wrapper too) and leaves the registry untouched; a lock left by a process that died is taken over.
     */
    @Test
    void twoRunsNeverShareARegistry() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 15);
        org.apache.hadoop.conf.Configuration hc = new org.apache.hadoop.conf.Configuration();
        try (io.sparkdl.registry.RegistryLock held = io.sparkdl.registry.RegistryLock.acquire(reg.toString(), hc,
                java.time.Duration.ofMinutes(5))) {
            File root = new File("..").getCanonicalFile();
            ProcessBuilder pb = new ProcessBuilder("bash", new File(root, "scripts/retrain-nightly").getPath(),
                    "--lake", lake.toString(), "--registry", reg.toString(), "--holdout", hold.toString())
                    .redirectErrorStream(true);
            pb.environment().putAll(builder(new String[0]).environment());
            pb.environment().put("SPARK_DL_LOG_DIR", tmp.resolve("logs").toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(75, p.exitValue(), out);
            assertTrue(out.contains("is locked by another retrain run (run ") && out.contains("pid "
                    + ProcessHandle.current().pid()), out);
            assertEquals(1, out.lines().filter(l -> l.contains("locked")).count(), "one clear line:\n" + out);
            assertFalse(Files.exists(reg.resolve("state.json")), "the locked-out run wrote nothing");
        }
        assertFalse(Files.exists(reg.resolve(io.sparkdl.registry.RegistryLock.NAME)), "released on close");
        // a run that died holding the lock (its pid is gone): the next run takes over and completes
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Files.writeString(reg.resolve(io.sparkdl.registry.RegistryLock.NAME), JSON.createObjectNode()
                .put("owner", "crashed").put("host", hostname()).put("pid", dead.pid())
                .put("acquired", java.time.Instant.now().toString())
                .put("expires", java.time.Instant.now().plusSeconds(3600).toString()).toString());
        assertEquals(0, SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--epochs", "1")));
        assertNotNull(champion(reg));
        try (Stream<Path> s = Files.list(reg)) {
            List<String> left = s.map(f -> f.getFileName().toString()).sorted().toList();
            assertEquals(List.of("CHAMPION", "state.json", "versions"), left, "no lock, temp or .crc file left");
        }
    }

    /**
     * A run whose LOCK another run overwrote after it had begun (on S3, two runs that both found it absent; the
     * later PUT wins) exits 75 too, with one line, and publishes and commits nothing: the lost-lock check before
     * publishing ends it as a run that found the registry locked.
     */
    @Test
    void aRunWhoseLockAnotherRunOverwroteExits75() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 15);
        Path lock = reg.resolve(io.sparkdl.registry.RegistryLock.NAME);
        String other = JSON.createObjectNode().put("owner", "other-run").put("host", "elsewhere").put("pid", 1)
                .put("acquired", java.time.Instant.now().toString())
                .put("expires", java.time.Instant.now().plusSeconds(3600).toString()).toString();
        Thread overwriter = new Thread(() -> {
            try {
                // once the run has recorded itself (it holds the lock and trains next), the other run's write lands
                while (!Files.exists(reg.resolve("state.json"))
                        || !JSON.readTree(reg.resolve("state.json").toFile()).path("inProgress").isObject()) {
                    Thread.sleep(20);
                }
                Files.writeString(lock, other);
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        overwriter.setDaemon(true);
        overwriter.start();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.err;
        int code;
        System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--epochs", "1"));
        } finally {
            System.setErr(saved);
        }
        overwriter.join(10_000);
        String out = err.toString(StandardCharsets.UTF_8);
        assertEquals(75, code, out);
        List<String> lines = out.lines().filter(l -> l.startsWith("spark-dl retrain: ")).toList();
        assertEquals(1, lines.size(), out);
        assertTrue(lines.get(0).contains("lost the registry lock " + lock) && lines.get(0).contains("other-run"),
                lines.get(0));
        assertEquals("other-run", JSON.readTree(lock.toFile()).get("owner").asText(), "the winner's lock is left");
        assertFalse(Files.exists(reg.resolve("CHAMPION")), "nothing committed");
        JsonNode state = JSON.readTree(reg.resolve("state.json").toFile());
        assertTrue(state.path("watermark").isMissingNode() || state.get("watermark").isNull(), state.toString());
        try (Stream<Path> s = Files.exists(reg.resolve("versions")) ? Files.list(reg.resolve("versions"))
                : Stream.empty()) {
            assertTrue(s.noneMatch(v -> Files.exists(v.resolve("MANIFEST.json"))), "nothing published");
        }
    }

    private static String hostname() throws IOException {
        String h = System.getenv("HOSTNAME");
        return h != null && !h.isEmpty() ? h : java.net.InetAddress.getLocalHost().getHostName();
    }

    /**
     * A version is valid only through its manifest: a tampered champion is refused before it is trusted, a
     * version without a manifest is removed, and a lost state.json is rebuilt from the manifests.
     */
    @Test
    void versionsAreValidOnlyThroughTheirManifests() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 15);
        Path m = tmp.resolve("m.json");
        assertEquals(0, SparkDl.run(args(lake, reg, hold, m, "--epochs", "1")));
        String v1 = champion(reg);
        JsonNode manifest = JSON.readTree(reg.resolve("versions").resolve(v1).resolve("MANIFEST.json").toFile());
        assertTrue(manifest.get("files").size() > 5, manifest.toString());
        // a half-written version (a crash mid-copy) is never trusted, and is cleaned up
        Path half = Files.createDirectories(reg.resolve("versions").resolve("v20990101T000000000Z").resolve("model"));
        Files.writeString(half.resolveSibling("metrics.json"), "{\"promoted\": true}");
        // state.json and CHAMPION lost: rebuilt from the manifests, not read as a new registry
        Files.delete(reg.resolve("state.json"));
        Files.delete(reg.resolve("CHAMPION"));
        assertEquals(0, SparkDl.run(args(lake, reg, hold, m, "--epochs", "1")));
        JsonNode run = JSON.readTree(m.toFile());
        assertFalse(run.get("changed").asBoolean(), "the watermark came back: nothing new to train: " + run);
        assertEquals(v1, run.get("champion").asText());
        assertEquals(v1, champion(reg));
        assertEquals(List.of(v1), versions(reg), "the version without a manifest was removed");
        // a champion whose files do not match the manifest is refused when it would be used
        partition(lake, "2026-11-21", FIRST, 15, 15);
        Path zip = reg.resolve("versions").resolve(v1).resolve("model/network/network.zip");
        byte[] bytes = Files.readAllBytes(zip);
        bytes[bytes.length / 2] ^= 1;
        Files.write(zip, bytes);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> SparkDl.run(args(lake, reg, hold, m, "--epochs", "1")));
        assertTrue(e.getMessage().contains(v1) && e.getMessage().contains("network.zip does not match its checksum"),
                e.getMessage());
    }

    /** --definition: the training half of a pipeline definition is the template (decoder, normaliser, classifier). */
    @Test
    void aPipelineDefinitionChoosesTheTemplate() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2026-11-20", FIRST, 0, 15);
        Path def = tmp.resolve("small.json");
        Files.writeString(def, """
                {"name": "retrain-small", "source": {"data": "unused"},
                 "preprocessing": {"imageSize": "24x24", "channels": 1, "normalize": true},
                 "estimator": {"type": "CnnClassifier", "arch": "lenet", "epochs": 1, "batchSize": 16, "numWorkers": 2},
                 "outputs": {"model": "unused"}}""");
        UsageException both = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--definition", def.toString(),
                        "--arch", "bncnn")));
        assertTrue(both.getMessage().contains("--arch and --definition"), both.getMessage());
        assertEquals(0, SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--definition", def.toString(),
                "--epochs", "1")));
        String v = champion(reg);
        Path stages = reg.resolve("versions").resolve(v).resolve("model/stages");
        try (Stream<Path> s = Files.list(stages)) {
            List<String> names = s.map(f -> f.getFileName().toString().replaceAll("^\\d+_", "").replaceAll("_.*", ""))
                    .sorted().toList();
            assertEquals(List.of("cnn", "imageNormalizer", "imgdec"), names);
        }
        JsonNode meta = JSON.readTree(reg.resolve("versions").resolve(v).resolve("metrics.json").toFile());
        assertEquals("Pipeline", meta.get("template").asText());
        JsonNode cnn = meta.get("params").get("classifier");
        assertEquals(24, (cnn.has("height") ? cnn.get("height") : cnn.get("imageHeight")).asInt(), cnn.toString());
    }

    /** An impossible partition date is refused before training and never becomes the watermark. */
    @Test
    void impossiblePartitionDatesAreRefusedBeforeTraining() throws Exception {
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        Path hold = holdout(tmp);
        partition(lake, "2024-12-30", FIRST, 0, 10);
        partition(lake, "2024-13-45", FIRST, 10, 10);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--epochs", "1")));
        assertTrue(e.getMessage().contains("ingest_date=2024-13-45") && e.getMessage().contains("not a real date"),
                e.getMessage());
        assertFalse(Files.exists(reg.resolve("state.json")), "nothing trained, nothing recorded");
        assertFalse(Files.exists(reg.resolve("versions")));
        // once the folder is fixed, a later real date is not skipped
        Files.move(lake.resolve("ingest_date=2024-13-45"), lake.resolve("ingest_date=2024-12-31"));
        assertEquals(0, SparkDl.run(args(lake, reg, hold, tmp.resolve("m.json"), "--epochs", "1")));
        assertEquals("2024-12-31", JSON.readTree(reg.resolve("state.json").toFile()).get("watermark").asText());
    }

    private static Process launch(String[] args, String haltAt) throws Exception {
        ProcessBuilder pb = builder(args).redirectErrorStream(true);
        pb.environment().put(RetrainCommand.HALT_ENV, haltAt);
        Process p = pb.start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        return p;
    }

    private static ProcessBuilder builder(String[] args) throws IOException {
        File root = new File("..").getCanonicalFile();
        List<String> cmd = new ArrayList<>(List.of("bash", new File(root, "scripts/spark-dl").getPath()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("SPARK_DL_CLASSPATH",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        pb.environment().put("SPARK_DL_DRIVER_MEMORY", "2g");
        pb.environment().remove("SPARK_HOME");
        return pb;
    }

    static String champion(Path reg) throws IOException {
        return Files.readString(reg.resolve("CHAMPION")).trim();
    }

    static List<String> versions(Path reg) throws IOException {
        try (Stream<Path> s = Files.list(reg.resolve("versions"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }
}
