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
