package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * scripts/cluster-up -> train and evaluate with executors in their own JVMs -> scripts/cluster-down.
 * Tagged "cluster"; part of the default run (about 40 s).
 */
@Tag("cluster")
class ClusterIntegrationTest {
    @TempDir
    Path tmp;

    @Test
    void trainsAndEvaluatesOnAStandaloneCluster() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        File root = new File("..").getCanonicalFile();
        String url = script(root, cp, "cluster-up", "2");
        assertTrue(url.startsWith("spark://127.0.0.1:"), "master URL: " + url);
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark-dl.defaults", new File(root, "conf/spark-defaults.conf").getPath());
        try {
            Path model = tmp.resolve("model");
            Path train = tmp.resolve("train.json");
            Path eval = tmp.resolve("eval.json");
            String data = new File(root, "test-data/fashion-mnist-small").getPath();
            assertEquals(0, SparkDl.run(new String[]{"train", "--data", data, "--model", model.toString(),
                    "--epochs", "4", "--workers", "2", "--seed", "9", "--master", url,
                    "--metrics-json", train.toString()}));
            assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data, "--model", model.toString(),
                    "--master", url, "--metrics-json", eval.toString()}));
            JsonNode t = new ObjectMapper().readTree(train.toFile());
            JsonNode e = new ObjectMapper().readTree(eval.toFile());
            assertEquals(4, t.get("history").size());
            assertEquals(1000, e.get("numImages").asInt());
            assertTrue(e.get("accuracy").asDouble() > 0.5, "accuracy " + e.get("accuracy"));
            // the work ran in executor JVMs started by the workers
            File[] apps = new File(root, "target/cluster/work-1").listFiles();
            assertTrue(apps != null && apps.length > 0, "no executor ran on worker 1");
        } finally {
            System.clearProperty("spark.driver.host");
            System.clearProperty("spark-dl.defaults");
            script(root, cp, "cluster-down");
        }
    }

    /**
     * Kills one executor JVM (SIGKILL) in the middle of training: Spark retries the lost tasks and
     * recomputes the lost cached blocks, the worker starts a new executor, and the job finishes with the
     * accuracy of an undisturbed run (within 1 point; the replay is deterministic by design).
     */
    @Test
    void survivesAnExecutorKilledDuringTraining() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        File root = new File("..").getCanonicalFile();
        String url = script(root, cp, "cluster-up", "2");
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark-dl.defaults", new File(root, "conf/spark-defaults.conf").getPath());
        String data = new File(root, "test-data/fashion-mnist-small").getPath();
        try {
            double calm = trainAndEvaluate(url, data, tmp.resolve("calm"));
            java.util.concurrent.atomic.AtomicReference<Object> result = new java.util.concurrent.atomic.AtomicReference<>();
            Thread job = new Thread(() -> {
                try {
                    result.set(trainAndEvaluate(url, data, tmp.resolve("killed")));
                } catch (Throwable t) {
                    result.set(t);
                }
            });
            int before = executorLogsWithTraining(root);
            job.start();
            long deadline = System.currentTimeMillis() + 120_000;
            while (executorLogsWithTraining(root) <= before && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
            }
            Thread.sleep(5000); // a few epochs in (an epoch of test-data takes ~1.5 s here)
            assertTrue(job.isAlive(), "training ended before the executor could be killed");
            Process pg = new ProcessBuilder("pgrep", "-f", "CoarseGrainedExecutorBackend").start();
            String[] pids = new String(pg.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+");
            assertTrue(pids.length >= 1 && !pids[0].isEmpty(), "no executor to kill");
            assertEquals(0, new ProcessBuilder("kill", "-9", pids[0]).start().waitFor());
            job.join(300_000);
            assertTrue(result.get() instanceof Double, "training with a killed executor failed: " + result.get());
            double killed = (Double) result.get();
            assertTrue(Math.abs(killed - calm) <= 0.01, "accuracy " + killed + " vs undisturbed " + calm);
        } finally {
            System.clearProperty("spark.driver.host");
            System.clearProperty("spark-dl.defaults");
            script(root, cp, "cluster-down");
        }
    }

    private static double trainAndEvaluate(String url, String data, Path dir) throws Exception {
        Path eval = dir.resolve("eval.json");
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data, "--model", dir.resolve("model").toString(),
                "--epochs", "12", "--workers", "2", "--seed", "4", "--master", url}));
        assertEquals(0, SparkDl.run(new String[]{"evaluate", "--data", data, "--model", dir.resolve("model").toString(),
                "--master", url, "--metrics-json", eval.toString()}));
        return new ObjectMapper().readTree(eval.toFile()).get("accuracy").asDouble();
    }

    /** Executor logs in which ND4J has started, i.e. training has begun there. */
    private static int executorLogsWithTraining(File root) throws Exception {
        int n = 0;
        for (File w : new File(root, "target/cluster").listFiles((d, name) -> name.startsWith("work-"))) {
            try (var s = java.nio.file.Files.walk(w.toPath())) {
                for (Path p : (Iterable<Path>) s.filter(f -> f.getFileName().toString().equals("stderr"))::iterator) {
                    if (java.nio.file.Files.readString(p).contains("spark-dl backend")) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    private static String script(File root, String cp, String... cmd) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("bash", new File(root, "scripts/" + cmd[0]).getPath()));
        args.addAll(List.of(cmd).subList(1, cmd.length));
        ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(false);
        pb.environment().put("SPARK_DL_CLASSPATH", cp);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), cmd[0] + " did not finish");
        assertEquals(0, p.exitValue(), cmd[0] + " failed: " + out);
        String[] lines = out.split("\n");
        return lines[lines.length - 1];
    }
}
