package io.sparkdl.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.registry.RegistryLock;
import io.sparkdl.testkit.SparkTest;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Retrainer} driven as a library, over nights of a small date-partitioned lake made from test-data/. */
class RetrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] FIRST = {"bag", "sandal", "trouser", "sneaker"};
    private static final String[] MORE = {"bag", "sandal", "trouser", "sneaker", "tshirt"};
    @TempDir
    Path tmp;

    /** Copies images [from, from + n) of each class into lake/ingest_date=DATE/CLASS/. */
    private static void partition(Path lake, String date, String[] classes, int from, int n) throws IOException {
        for (String c : classes) {
            Path src = SparkTest.testData().resolve("fashion-mnist-small").resolve(c);
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

    private Path holdout() throws IOException {
        Path h = tmp.resolve("holdout");
        if (!Files.exists(h)) {
            partition(tmp, "holdout", MORE, 80, 20);
            Files.move(tmp.resolve("ingest_date=holdout"), h);
        }
        return h;
    }

    private static CnnClassifier lenet() {
        return new CnnClassifier().setArch("lenet").setEpochs(2).setBatchSize(16).setNumWorkers(2).setSeed(7);
    }

    private Retrainer retrainer(SparkSession spark, org.apache.spark.ml.Estimator<?> template, Path lake, Path reg)
            throws IOException {
        return new Retrainer(spark, template).setLake(DateLake.at(spark, lake.toString()))
                .setRegistry(reg.toString()).setHoldout(holdout().toString()).setWriteReport(false);
    }

    @Test
    void nightsWithAClassifierTemplate() throws Exception {
        SparkSession spark = SparkTest.spark();
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 30);
        Retrainer r = retrainer(spark, lenet().setHeight(28).setWidth(28).setChannels(1), lake, reg)
                .setWriteReport(true);

        RetrainOutcome n1 = r.run();
        assertTrue(n1.changed());
        assertFalse(n1.atChanceLevel(), "30 images a class, 2 epochs: " + n1);
        assertTrue(n1.promoted(), "the first model is promoted: " + n1);
        assertNull(n1.parentVersion());
        assertEquals(List.of("2026-11-20"), n1.partitions());
        assertEquals(4 * 30, n1.trainingImages());
        assertEquals("2026-11-20", n1.watermark());
        assertEquals(n1.version(), champion(reg));
        Path v1 = reg.resolve("versions").resolve(n1.version());
        assertTrue(Files.isRegularFile(v1.resolve("MANIFEST.json")));
        assertTrue(Files.isRegularFile(v1.resolve("report/index.html")));
        VersionMetrics m1 = VersionMetrics.parse(Files.readString(v1.resolve("metrics.json")));
        assertEquals(n1.challengerAccuracy(), m1.holdoutAccuracy());
        assertNull(m1.championHoldoutAccuracy());
        assertEquals(2, m1.history().size());
        assertEquals("CnnClassifier", m1.template());

        RetrainOutcome again = r.run();
        assertFalse(again.changed(), "nothing new: " + again);
        assertEquals(n1.version(), again.champion());
        assertEquals(1, versions(reg).size());

        // night 2: a new class; an improvement of 1.0 is out of reach, so the champion stays
        partition(lake, "2026-11-21", MORE, 30, 30);
        RetrainOutcome n2 = r.setPolicy(RetrainPolicy.defaults().withMinImprovement(1.0).withFrozenLayers(2)).run();
        assertTrue(n2.changed());
        assertFalse(n2.promoted(), n2.toString());
        assertEquals(n1.version(), n2.parentVersion());
        assertEquals(n1.version(), n2.champion());
        assertEquals(n1.version(), champion(reg));
        assertEquals(List.of("2026-11-20"), n2.replayedPartitions());
        assertEquals("2026-11-21", n2.watermark());
        assertFalse(Double.isNaN(n2.championAccuracy()));
        VersionMetrics m2 = VersionMetrics.parse(Files.readString(
                reg.resolve("versions").resolve(n2.version()).resolve("metrics.json")));
        assertEquals(5, m2.labels().size(), "tshirt widened the warm-started output layer");
        assertEquals(n1.version(), m2.parentVersion());
        assertEquals(2, m2.params().get("frozenLayers"));
        assertTrue(m2.decision().contains("minImprovement") || m2.atChanceLevel(), m2.decision());
        assertEquals(2, versions(reg).size());
        assertFalse(Files.exists(reg.resolve("work")), "work folder cleaned");
    }

    @Test
    void aTorchTemplateWarmStartsWithFrozenLayers() throws Exception {
        SparkSession spark = SparkTest.spark();
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 30);
        Retrainer r = retrainer(spark, lenet().setEngine("torch").setEpochs(1).setHeight(28).setWidth(28)
                .setChannels(1), lake, reg).setPolicy(RetrainPolicy.defaults().withMinImprovement(-1.0)
                .withFrozenLayers(2));
        RetrainOutcome n1 = r.run();
        assertTrue(n1.promoted(), n1.toString());
        partition(lake, "2026-11-21", MORE, 30, 30);
        RetrainOutcome n2 = r.run();
        assertEquals(n1.version(), n2.parentVersion(), n2.toString());
        VersionMetrics m2 = VersionMetrics.parse(Files.readString(
                reg.resolve("versions").resolve(n2.version()).resolve("metrics.json")));
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> cnn = (java.util.Map<String, Object>) m2.params().get("classifier");
        assertEquals("torch", cnn.get("engine"));
        assertEquals(2, cnn.get("frozenLayers"));
        assertTrue(((String) cnn.get("initialModel")).contains(n1.version()), "warm start from the champion: " + cnn);
        assertEquals(5, m2.labels().size(), "tshirt widened the warm-started output layer");
        assertEquals(1, m2.history().size(), "one epoch trained: " + m2.history());
    }

    @Test
    void aPipelineTemplateIsRefittedAndWarmStartsFromAPipelineChampion() throws Exception {
        SparkSession spark = SparkTest.spark();
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 30);
        Pipeline template = new Pipeline().setStages(new PipelineStage[]{
                new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip"),
                new ImageNormalizer().setChannels(1), lenet()});
        Retrainer r = retrainer(spark, template, lake, reg).setPolicy(RetrainPolicy.defaults()
                .withMinImprovement(-1.0));
        RetrainOutcome n1 = r.run();
        assertTrue(n1.promoted(), n1.toString());
        Path model1 = reg.resolve("versions").resolve(n1.version()).resolve("model");
        assertTrue(Files.isDirectory(model1.resolve("stages")), "the champion is a PipelineModel");

        partition(lake, "2026-11-21", MORE, 30, 30);
        RetrainOutcome n2 = r.run();
        assertEquals(n1.version(), n2.parentVersion());
        assertTrue(n2.promoted() || n2.atChanceLevel(), "a minImprovement of -1 promotes any challenger that learned: "
                + n2);
        VersionMetrics m2 = VersionMetrics.parse(Files.readString(
                reg.resolve("versions").resolve(n2.version()).resolve("metrics.json")));
        assertEquals("Pipeline", m2.template());
        assertEquals(5, m2.labels().size());
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> cnn = (java.util.Map<String, Object>) m2.params().get("classifier");
        String initial = (String) cnn.get("initialModel");
        assertTrue(initial.startsWith(model1 + "/stages/") && initial.endsWith("_" + lastStageUid(template)),
                "warm start from the champion's classifier stage: " + initial);
        assertTrue(Files.isDirectory(reg.resolve("versions").resolve(n2.version()).resolve("model/stages")));
        assertEquals(3, template.getStages().length, "the template itself is unchanged");
        assertEquals("", ((CnnClassifier) template.getStages()[2]).getInitialModel());
    }

    @Test
    void aRunStoppedAtAStepIsContinuedByTheNextRun() throws Exception {
        SparkSession spark = SparkTest.spark();
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 20);
        CnnClassifier template = lenet().setEpochs(1);
        String v1 = retrainer(spark, template, lake, reg).run().version();

        // night 2 stops after training (as a crash would): the run is recorded, the registry is unchanged
        partition(lake, "2026-11-21", FIRST, 20, 20);
        RuntimeException crash = assertThrows(RuntimeException.class, () -> retrainer(spark, template, lake, reg)
                .setListener(halt(RetrainListener.Step.TRAINED)).run());
        assertTrue(crash.getMessage().startsWith("halt at trained"), crash.getMessage());
        JsonNode st = state(reg);
        assertEquals("2026-11-20", st.get("watermark").asText());
        String pending = st.get("inProgress").get("version").asText();
        assertEquals(v1, champion(reg));
        RetrainOutcome n2 = retrainer(spark, template, lake, reg).setRequireInterruptedRun(true).run();
        assertTrue(n2.continuedRun());
        assertEquals(pending, n2.version(), "the re-run finishes the recorded version");
        assertEquals("2026-11-21", n2.watermark());
        assertEquals(2, versions(reg).size());

        // night 3 stops between the commit and CHAMPION: the next run repairs CHAMPION and has nothing to train
        partition(lake, "2026-11-22", FIRST, 40, 20);
        assertThrows(RuntimeException.class, () -> retrainer(spark, template, lake, reg)
                .setPolicy(RetrainPolicy.defaults().withMinImprovement(-1.0))
                .setListener(halt(RetrainListener.Step.COMMITTED)).run());
        JsonNode committed = state(reg);
        assertEquals("2026-11-22", committed.get("watermark").asText());
        RetrainOutcome after = retrainer(spark, template, lake, reg).run();
        assertFalse(after.changed());
        assertEquals(committed.get("champion").asText(), champion(reg), "CHAMPION follows the state");
        assertEquals(3, versions(reg).size());
        IllegalStateException noRun = assertThrows(IllegalStateException.class,
                () -> retrainer(spark, template, lake, reg).setRequireInterruptedRun(true).run());
        assertTrue(noRun.getMessage().contains("no interrupted run"), noRun.getMessage());
    }

    @Test
    void badTemplatesPoliciesAndAHeldLockAreRefusedBeforeAnythingIsWritten() throws Exception {
        SparkSession spark = SparkTest.spark();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Retrainer(spark,
                new Pipeline().setStages(new PipelineStage[]{lenet(), new ImageNormalizer()})));
        assertTrue(e.getMessage().contains("must end with a CnnClassifier") && e.getMessage().contains("ImageNormalizer"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RetrainPolicy.defaults().withReplayFraction(1.5));
        assertTrue(e.getMessage().contains("replayFraction"), e.getMessage());
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 2);
        partition(lake, "2026-13-45", FIRST, 2, 2);
        e = assertThrows(IllegalArgumentException.class, () -> retrainer(spark, lenet(), lake, reg).run());
        assertTrue(e.getMessage().contains("ingest_date=2026-13-45") && e.getMessage().contains("not a real date"),
                e.getMessage());
        assertFalse(Files.exists(reg.resolve("state.json")), "nothing recorded");
        try (RegistryLock held = RegistryLock.acquire(reg.toString(), new Configuration(), Duration.ofMinutes(5))) {
            assertThrows(RegistryLock.HeldException.class, () -> retrainer(spark, lenet(), lake, reg).run());
        }
        e = assertThrows(IllegalArgumentException.class, () -> DateLake.at(spark, tmp.resolve("nowhere").toString()));
        assertTrue(e.getMessage().contains("nowhere") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    /**
     * Two runs started at the same moment on one local registry: the O_EXCL create lets exactly one proceed; the
     * other ends with {@link RegistryLock.HeldException} (exit 75 on the command line), one line naming the holder,
     * and writes nothing. The winner waits at its first step until the loser has ended.
     */
    @Test
    void twoRunsRacingOnOneRegistryOneProceedsTheOtherIsLockedOut() throws Exception {
        SparkSession spark = SparkTest.spark();
        Path lake = tmp.resolve("lake");
        Path reg = tmp.resolve("registry");
        partition(lake, "2026-11-20", FIRST, 0, 10);
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.CountDownLatch loserDone = new java.util.concurrent.CountDownLatch(1);
        List<Object> results = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Retrainer r = retrainer(spark, lenet().setEpochs(1).setHeight(28).setWidth(28).setChannels(1), lake,
                        reg).setListener((step, version) -> {
                            if (step == RetrainListener.Step.BEGUN) {
                                try {
                                    assertTrue(loserDone.await(60, java.util.concurrent.TimeUnit.SECONDS));
                                } catch (InterruptedException e) {
                                    throw new IllegalStateException(e);
                                }
                            }
                        });
                runs.add(pool.submit(() -> {
                    go.await();
                    try {
                        results.add(r.run());
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
            pool.shutdownNow();
        }
        List<RetrainOutcome> won = results.stream().filter(o -> o instanceof RetrainOutcome)
                .map(o -> (RetrainOutcome) o).toList();
        List<RegistryLock.HeldException> lost = results.stream().filter(o -> o instanceof RegistryLock.HeldException)
                .map(o -> (RegistryLock.HeldException) o).toList();
        assertEquals(1, won.size(), "one run proceeds: " + results);
        assertEquals(1, lost.size(), "the other is locked out: " + results);
        String line = lost.get(0).getMessage();
        assertFalse(line.contains("\n"), line);
        assertTrue(line.contains("is locked by another retrain run (run ") && line.contains(reg.toString()), line);
        assertTrue(won.get(0).changed(), won.toString());
        assertEquals(List.of(won.get(0).version()), versions(reg), "only the winner's version");
        assertTrue(state(reg).get("inProgress").isNull());
        assertEquals("2026-11-20", state(reg).get("watermark").asText());
        assertFalse(Files.exists(reg.resolve(RegistryLock.NAME)), "released");
    }

    private static RetrainListener halt(RetrainListener.Step at) {
        return (step, version) -> {
            if (step == at) {
                throw new IllegalStateException("halt at " + step.id() + " of " + version);
            }
        };
    }

    private static String lastStageUid(Pipeline p) {
        return p.getStages()[p.getStages().length - 1].uid();
    }

    private static JsonNode state(Path reg) throws IOException {
        return JSON.readTree(reg.resolve("state.json").toFile());
    }

    private static String champion(Path reg) throws IOException {
        return Files.readString(reg.resolve("CHAMPION")).trim();
    }

    private static List<String> versions(Path reg) throws IOException {
        try (Stream<Path> s = Files.list(reg.resolve("versions"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }
}
