package io.sparkdl.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.registry.RegistryLock;
import io.sparkdl.registry.RegistryProbe;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.testkit.TestStore;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nightly {@link Retrainer} with its lake, holdout and registry on a real store (each subclass registers one
 * {@link TestStore}: HDFS, S3), kept small: 3 classes, 8 images a class a night, 28x28 gray LeNet, 1 epoch.
 * Nights publish versions and promote or keep the champion as the policy says; a run stopped at each protocol
 * step (a listener that throws, as a crash would) leaves a registry whose CHAMPION and state a lock-free reader
 * can trust, and the next run completes it; a reader without the lock polling meanwhile never sees a partial
 * version or a missing or invalid champion; of two runs started at once exactly one proceeds, and a run whose lock
 * object another run overwrote publishes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StoreRetrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] CLASSES = {"bag", "sneaker", "trouser"};
    private static final int PER_NIGHT = 8;
    @TempDir
    java.nio.file.Path tmp;
    private String holdout;

    protected abstract TestStore store();

    private static Configuration hc() {
        return SparkTest.spark().sparkContext().hadoopConfiguration();
    }

    @BeforeAll
    void uploadHoldout(@TempDir java.nio.file.Path local) throws IOException {
        java.nio.file.Path h = local.resolve("holdout");
        copyImages(h, 80, 6);
        holdout = store().uri("holdout");
        upload(h, holdout);
    }

    /** Images [from, from + n) of each class into dir/CLASS/. */
    private static void copyImages(java.nio.file.Path dir, int from, int n) throws IOException {
        for (String c : CLASSES) {
            java.nio.file.Path src = SparkTest.testData().resolve("fashion-mnist-small").resolve(c);
            java.nio.file.Path dst = Files.createDirectories(dir.resolve(c));
            List<java.nio.file.Path> files;
            try (Stream<java.nio.file.Path> s = Files.list(src)) {
                files = s.sorted().toList();
            }
            for (java.nio.file.Path f : files.subList(from, from + n)) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
    }

    private static void upload(java.nio.file.Path local, String target) throws IOException {
        Path t = new Path(target);
        t.getFileSystem(hc()).copyFromLocalFile(false, true, new Path(local.toUri()), t);
    }

    /** Night {@code k}'s partition: ingest_date=2026-11-2k with the k-th slice of each class. */
    private String night(String lake, int k) throws IOException {
        String date = "2026-11-2" + k;
        java.nio.file.Path local = tmp.resolve("night-" + UUID.randomUUID());
        copyImages(local, k * PER_NIGHT, PER_NIGHT);
        upload(local, lake + "/ingest_date=" + date);
        return date;
    }

    private Retrainer retrainer(String lake, String registry) {
        SparkSession spark = SparkTest.spark();
        return new Retrainer(spark, new CnnClassifier().setArch("lenet").setHeight(28).setWidth(28).setChannels(1)
                .setEpochs(1).setBatchSize(8).setNumWorkers(1).setSeed(7))
                .setLake(DateLake.at(spark, lake)).setRegistry(registry).setHoldout(holdout).setWriteReport(false)
                .setLockSettle(java.time.Duration.ofMillis(500));
    }

    @Test
    void threeNightsPublishAndPromoteOnTheStore() throws IOException {
        String lake = store().uri("nights/lake");
        String reg = store().uri("nights/registry");
        String d1 = night(lake, 0);
        // night 1: the first model is promoted unless it is at chance level; a report is written to the store
        RetrainOutcome n1 = retrainer(lake, reg).setWriteReport(true).run();
        assertTrue(n1.changed());
        assertTrue(n1.versionDir().startsWith(store().root()), n1.versionDir());
        assertEquals(!n1.atChanceLevel(), n1.promoted(), "the first model is promoted unless at chance: " + n1);
        assertTrue(n1.promoted(), "3 distinct classes, 8 images each: " + n1);
        assertEquals(List.of(d1), n1.partitions());
        assertEquals(3L * PER_NIGHT, n1.trainingImages());
        assertRegistry(reg, d1, n1.version(), n1.version(), 1);
        assertTrue(HadoopFiles.exists(n1.versionDir() + "/report/index.html", hc()));
        VersionMetrics m1 = VersionMetrics.parse(HadoopFiles.readString(n1.versionDir() + "/metrics.json", hc()));
        assertEquals(n1.challengerAccuracy(), m1.holdoutAccuracy());
        assertEquals(List.of(d1), m1.partitions());

        assertFalse(retrainer(lake, reg).run().changed(), "no new partition: nothing to do");

        // night 2: an improvement of 1.0 is out of reach: a version is published, the champion stays. From here
        // on a reader without the lock polls the registry while the runs publish, commit and promote
        String d2 = night(lake, 1);
        Reader reader = new Reader(reg);
        reader.start();
        RetrainOutcome n2 = retrainer(lake, reg).setPolicy(RetrainPolicy.defaults().withMinImprovement(1.0)
                .withReplayFraction(0.5)).run();
        assertFalse(n2.promoted(), n2.toString());
        assertEquals(n1.version(), n2.parentVersion(), "warm start from the champion");
        assertEquals(List.of(d1), n2.replayedPartitions());
        assertRegistry(reg, d2, n1.version(), n2.version(), 2);

        // night 3: any challenger that learned is promoted (minImprovement -1)
        String d3 = night(lake, 2);
        RetrainOutcome n3 = retrainer(lake, reg).setPolicy(RetrainPolicy.defaults().withMinImprovement(-1.0)).run();
        reader.finish();
        assertTrue(reader.champions.contains(n1.version()), "the reader saw the first champion: " + reader.champions);
        assertTrue(!n3.promoted() || reader.champions.contains(n3.version()),
                "the reader saw the promotion: " + reader.champions);
        assertEquals(n1.version(), n3.parentVersion());
        assertEquals(List.of(d3), n3.partitions());
        assertEquals(!n3.atChanceLevel(), n3.promoted(), n3.toString());
        String champion = n3.promoted() ? n3.version() : n1.version();
        assertEquals(champion, n3.champion());
        assertRegistry(reg, d3, champion, n3.version(), 3);
        // the champion loads from the store as saved
        CnnClassifierModel loaded = CnnClassifierModel.load(reg + "/versions/" + champion + "/model");
        assertEquals(List.of(CLASSES), List.of(loaded.labels()));
    }

    @Test
    void aRunStoppedAtEachStepLeavesAConsistentRegistryAndTheNextRunCompletesIt() throws IOException {
        String lake = store().uri("halts/lake");
        String reg = store().uri("halts/registry");
        String wm = night(lake, 0);
        RetrainOutcome first = retrainer(lake, reg).run();
        assertTrue(first.promoted(), first.toString());
        String champion = first.champion();
        int versions = 1;
        int k = 1;
        for (RetrainListener.Step step : RetrainListener.Step.values()) {
            String date = night(lake, k++);
            RuntimeException crash = assertThrows(RuntimeException.class, () -> retrainer(lake, reg)
                    .setPolicy(RetrainPolicy.defaults().withMinImprovement(-1.0)).setListener(halt(step)).run());
            assertTrue(crash.getMessage().startsWith("halt at " + step.id()), crash.getMessage());
            JsonNode st = state(reg);
            // what a reader without the lock sees now: CHAMPION names a valid version, the state's champion too
            String file = champion(reg);
            assertNull(RegistryProbe.problem(reg, file, hc()), step + ": CHAMPION " + file);
            assertNull(RegistryProbe.problem(reg, st.get("champion").asText(), hc()), step + ": state's champion");
            assertFalse(HadoopFiles.exists(reg + "/" + RegistryLock.NAME, hc()), step + ": the lock is released");
            String pending = st.path("inProgress").path("version").asText(null);
            if (step == RetrainListener.Step.COMMITTED) {
                assertEquals(date, st.get("watermark").asText(), "committed: the watermark moved");
                assertTrue(st.get("inProgress").isNull());
                assertEquals(champion, file, "CHAMPION is rewritten after the commit");
            } else {
                assertEquals(wm, st.get("watermark").asText(), step + ": the watermark has not moved");
                assertEquals(champion, st.get("champion").asText());
                assertEquals(champion, file);
                assertTrue(pending != null, step + ": the run is recorded");
                assertEquals(step == RetrainListener.Step.PUBLISHED,
                        RegistryProbe.problem(reg, pending, hc()) == null, step + ": published only after that step");
            }

            RetrainOutcome rerun = retrainer(lake, reg).setPolicy(RetrainPolicy.defaults().withMinImprovement(-1.0))
                    .run();
            if (step == RetrainListener.Step.COMMITTED) {
                assertFalse(rerun.changed(), "the stopped run had committed: " + rerun);
                String committed = state(reg).get("champion").asText();
                assertEquals(committed, champion(reg), "CHAMPION repaired to follow the state");
                champion = committed;
            } else {
                assertTrue(rerun.changed() && rerun.continuedRun(), step + ": " + rerun);
                assertEquals(pending, rerun.version(), "the re-run finishes the recorded version");
                assertEquals(List.of(date), rerun.partitions());
                champion = rerun.champion();
            }
            versions++;
            wm = date;
            assertRegistry(reg, wm, champion, null, versions);
        }
    }

    /**
     * Two runs started at the same moment on one registry: exactly one proceeds and completes; the other ends with
     * {@link RegistryLock.HeldException} (exit 75 on the command line), one line naming the holder, having written
     * nothing. Both wait for each other between the lock's existence check and its write, so on S3 (no atomic
     * create-if-absent) both find it absent and both write it: the settle-and-read-back decides there. On HDFS the
     * second create is refused by the NameNode. The winner waits at its first step until the loser has ended, so
     * the loser cannot start after the winner finished.
     */
    @Test
    void twoRunsRacingOnOneRegistryOneProceedsTheOtherIsLockedOut() throws Exception {
        String lake = store().uri("race/lake");
        String reg = store().uri("race/registry");
        String d1 = night(lake, 0);
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.CyclicBarrier bothChecked = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.CountDownLatch loserDone = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
        RegistryProbe.beforeLockWrite(() -> {
            writes.incrementAndGet();
            try {
                bothChecked.await(5, java.util.concurrent.TimeUnit.SECONDS); // HDFS: the other never gets here
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.BrokenBarrierException e) {
                // the other run was refused before writing
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        List<Object> results = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try {
            List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                runs.add(pool.submit(() -> {
                    go.await();
                    try {
                        results.add(retrainer(lake, reg).setListener((step, version) -> {
                            if (step == RetrainListener.Step.BEGUN) {
                                await(loserDone);
                            }
                        }).run());
                    } catch (RegistryLock.HeldException e) {
                        results.add(e);
                        loserDone.countDown();
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : runs) {
                f.get(300, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            RegistryProbe.beforeLockWrite(null);
            pool.shutdownNow();
        }
        List<RetrainOutcome> won = results.stream().filter(r -> r instanceof RetrainOutcome)
                .map(r -> (RetrainOutcome) r).toList();
        List<RegistryLock.HeldException> lost = results.stream().filter(r -> r instanceof RegistryLock.HeldException)
                .map(r -> (RegistryLock.HeldException) r).toList();
        assertEquals(1, won.size(), "one run proceeds: " + results);
        assertEquals(1, lost.size(), "the other is locked out: " + results);
        String line = lost.get(0).getMessage();
        assertFalse(line.contains("\n"), "one line: " + line);
        assertTrue(line.contains("locked by another retrain run") && line.contains(reg), line);
        if (store().root().startsWith("s3a:")) {
            assertEquals(2, writes.get(), "on S3 both runs found no lock and wrote one");
            assertTrue(line.contains("at the same moment") && line.contains("run "), line);
        }
        RetrainOutcome winner = won.get(0);
        assertTrue(winner.promoted(), winner.toString());
        // the loser wrote nothing: one version, the winner's, committed; no lock, no work folder
        assertRegistry(reg, d1, winner.version(), winner.version(), 1);
    }

    private static void await(java.util.concurrent.CountDownLatch latch) {
        try {
            assertTrue(latch.await(60, java.util.concurrent.TimeUnit.SECONDS), "the other run ended");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A run whose lock object was replaced by another run's (two runs that created it at once on an object store,
     * or a takeover after a long pause) stops before it publishes or commits anything. */
    @Test
    void aRunThatLostItsLockPublishesNothing() throws IOException {
        String lake = store().uri("lost/lake");
        String reg = store().uri("lost/registry");
        String d1 = night(lake, 0);
        String lock = reg + "/" + RegistryLock.NAME;
        String other = "{\"owner\": \"other-run\", \"host\": \"elsewhere\", \"pid\": 1, \"acquired\": \""
                + java.time.Instant.now() + "\", \"expires\": \"" + java.time.Instant.now().plusSeconds(600) + "\"}";
        RegistryLock.HeldException lost = assertThrows(RegistryLock.HeldException.class, () -> retrainer(lake, reg)
                .setListener((step, version) -> {
                    if (step == RetrainListener.Step.TRAINED) {
                        HadoopFiles.writeString(lock, other, hc()); // the other run's PUT lands last
                    }
                }).run());
        assertTrue(lost.getMessage().contains("lost the registry lock") && lost.getMessage().contains("other-run"),
                lost.getMessage());
        assertEquals("other-run", JSON.readTree(HadoopFiles.readString(lock, hc())).get("owner").asText(),
                "the loser leaves the winner's lock alone");
        JsonNode st = state(reg);
        assertTrue(st.path("watermark").isMissingNode() || st.get("watermark").isNull(), st.toString());
        String pending = st.get("inProgress").get("version").asText();
        assertFalse(RegistryProbe.problem(reg, pending, hc()) == null, "nothing published");
        assertFalse(HadoopFiles.exists(reg + "/CHAMPION", hc()));
        assertThrows(RegistryLock.HeldException.class, () -> retrainer(lake, reg).run(), "the winner's lock holds");

        HadoopFiles.deleteRecursively(lock, hc()); // the winner ends
        RetrainOutcome next = retrainer(lake, reg).run();
        assertTrue(next.continuedRun(), next.toString());
        assertRegistry(reg, d1, next.champion(), next.version(), 1);
    }

    /**
     * A reader without the lock (a serving job) polling a registry that has a champion, until {@link #finish}:
     * every read finds state.json readable, CHAMPION present and naming a version whose manifest verifies
     * (checksums included) and the state's champion valid too, and every version folder that has a manifest
     * complete as its manifest says (a manifest written before the files, or a version seen half-copied,
     * fails). Each read is checked; what was wrong is collected and reported by {@link #finish}.
     */
    private static final class Reader extends Thread {
        final String reg;
        final List<String> wrong = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        final java.util.Set<String> champions = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger versionChecks = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean stop;

        Reader(String reg) {
            super("registry reader");
            this.reg = reg;
            setDaemon(true);
        }

        @Override
        public void run() {
            while (!stop) {
                try {
                    check();
                    reads.incrementAndGet();
                } catch (IOException | RuntimeException e) {
                    wrong.add(e.toString());
                }
            }
        }

        private void check() throws IOException {
            Configuration hc = hc();
            if (!HadoopFiles.exists(reg + "/state.json", hc)) {
                wrong.add("state.json missing");
                return;
            }
            JsonNode st = JSON.readTree(HadoopFiles.readString(reg + "/state.json", hc));
            String stateChampion = st.path("champion").asText(null);
            if (!HadoopFiles.exists(reg + "/CHAMPION", hc)) {
                wrong.add("CHAMPION missing");
                return;
            }
            String c = HadoopFiles.readString(reg + "/CHAMPION", hc).trim();
            champions.add(c);
            String problem = RegistryProbe.problem(reg, c, hc);
            if (problem != null) {
                wrong.add("CHAMPION names " + c + ": " + problem);
            }
            String sp = stateChampion == null ? "none" : RegistryProbe.problem(reg, stateChampion, hc, false);
            if (sp != null) {
                wrong.add("state.json's champion " + stateChampion + ": " + sp);
            }
            for (String id : HadoopFiles.list(reg + "/versions", hc)) {
                if (!id.startsWith(".") && HadoopFiles.exists(reg + "/versions/" + id + "/MANIFEST.json", hc)) {
                    String vp = RegistryProbe.problem(reg, id, hc, false);
                    versionChecks.incrementAndGet();
                    if (vp != null) {
                        wrong.add("version " + id + " has a manifest but " + vp);
                    }
                }
            }
        }

        /** Lets the reader finish two more reads of the registry as the last run left it, stops it, checks. */
        void finish() {
            int target = reads.get() + wrong.size() + 2;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (isAlive() && reads.get() + wrong.size() < target && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            stop = true;
            try {
                join(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertTrue(reads.get() > 10, "the reader ran: " + reads + " reads");
            System.out.println("registry reader on " + reg + ": " + reads + " reads, " + versionChecks
                    + " versions with a manifest checked, " + wrong.size() + " wrong");
            List<String> distinct = wrong.stream().distinct().limit(10).toList();
            assertEquals(List.of(), distinct, wrong.size() + " bad reads of " + (reads.get() + wrong.size()));
        }
    }

    /**
     * state.json, CHAMPION and the versions after a completed run: the watermark, the champion (null: none), the
     * last version (null: not checked), every version valid, no run in progress, no lock left.
     */
    private void assertRegistry(String reg, String watermark, String champion, String last, int versions)
            throws IOException {
        JsonNode st = state(reg);
        assertEquals(watermark, st.get("watermark").asText(), st.toString());
        assertTrue(st.get("inProgress").isNull(), st.toString());
        if (last != null) {
            assertEquals(last, st.get("lastVersion").asText());
        }
        if (champion != null) {
            assertEquals(champion, st.get("champion").asText());
            assertEquals(champion, champion(reg));
        }
        List<String> ids = HadoopFiles.list(reg + "/versions", hc()).stream().filter(n -> !n.startsWith("."))
                .toList();
        assertEquals(versions, ids.size(), ids.toString());
        for (String id : ids) {
            assertNull(RegistryProbe.problem(reg, id, hc()), id);
        }
        assertFalse(HadoopFiles.exists(reg + "/" + RegistryLock.NAME, hc()));
        assertFalse(HadoopFiles.exists(reg + "/work", hc()), "work folder cleaned");
    }

    private static RetrainListener halt(RetrainListener.Step at) {
        return (step, version) -> {
            if (step == at) {
                throw new IllegalStateException("halt at " + step.id() + " of " + version);
            }
        };
    }

    private static JsonNode state(String reg) throws IOException {
        return JSON.readTree(HadoopFiles.readString(reg + "/state.json", hc()));
    }

    private static String champion(String reg) {
        return HadoopFiles.readString(reg + "/CHAMPION", hc()).trim();
    }

}
