package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The binary distribution (target/spark-dl-VERSION-bin-sparkLINE.tar.gz, runs in {@code mvn verify}): unpacked
 * into a temporary folder outside the source tree, its bin/spark-dl trains with only Java (embedded Spark from
 * lib/spark), then evaluates through a SPARK_HOME's spark-submit whose jars are that same lib/spark.
 */
class DistributionIT {
    private static final String LINE = System.getProperty("spark.line", "3.5");
    private Path tmp;

    @AfterEach
    void cleanUp() throws Exception {
        if (tmp != null) {
            SparkSubmitIT.deleteTree(tmp);
        }
    }

    @Test
    void unpackedDistributionTrainsWithJavaOnlyAndEvaluatesThroughSparkSubmit() throws Exception {
        File root = SparkSubmitIT.projectRoot();
        File[] tarballs = new File(root, "pipelines/target")
                .listFiles((d, n) -> n.matches("spark-dl-.*-bin-spark" + java.util.regex.Pattern.quote(LINE) + "\\.tar\\.gz"));
        assertTrue(tarballs != null && tarballs.length == 1, "mvn package builds one distribution for Spark " + LINE);
        tmp = Files.createTempDirectory("spark-dl-dist-it");
        run(tmp, Map.of(), "tar", "xzf", tarballs[0].getPath());
        Path home = tmp.resolve(tarballs[0].getName().replace(".tar.gz", ""));

        for (String f : List.of("bin/spark-dl", "bin/java-env.sh", "bin/retrain-nightly", "conf/spark-defaults.conf",
                "conf/log4j2.properties", "pipelines/fashion-lenet-small.json", "README.md", "LICENSE")) {
            assertTrue(Files.isRegularFile(home.resolve(f)), f + " is in the distribution");
        }
        assertTrue(Files.isExecutable(home.resolve("bin/spark-dl")));
        assertEquals(LINE, Files.readString(home.resolve("lib/spark-line")).trim());
        try (Stream<Path> s = Files.list(home.resolve("lib"))) {
            assertEquals(1, s.filter(p -> p.getFileName().toString().endsWith("-app.jar")).count());
        }
        try (Stream<Path> s = Files.list(home.resolve("lib/torch"))) {
            List<String> torch = s.map(p -> p.getFileName().toString()).collect(Collectors.toList());
            assertTrue(torch.size() == 1 && torch.get(0).matches("pytorch-.*-linux-x86_64\\.jar"),
                    "lib/torch holds libtorch's natives jar (not inside the app jar): " + torch);
        }
        List<Path> sparkJars;
        try (Stream<Path> s = Files.list(home.resolve("lib/spark"))) {
            sparkJars = s.sorted().collect(Collectors.toList());
        }
        assertEquals(names(SparkSubmitIT.distributionJars(root)), names(sparkJars),
                "lib/spark (src/assembly/bin.xml) holds the jars that SparkSubmitIT's Spark distribution holds "
                        + "(spark-distribution-classpath in pipelines/pom.xml)");

        String data = new File(root, "test-data/fashion-mnist-small").getPath();
        Path model = tmp.resolve("model");
        String train = run(tmp, Map.of(), home.resolve("bin/spark-dl").toString(), "train", "--data", data,
                "--model", model.toString(), "--epochs", "1", "--workers", "2", "--master", "local[2]",
                "--validation-fraction", "0");
        assertFalse(train.contains("building"), "no Maven build from a distribution:\n" + train);
        assertTrue(train.contains("Spark " + SparkSubmitIT.SPARK_VERSION + " master"), train);
        // the default engine, torch, from the embedded classpath: lib/torch/* is on it
        assertTrue(train.contains("torch engine: libtorch loaded"), train);
        assertTrue(train.contains("epoch 1:"), train);
        assertTrue(Files.isRegularFile(model.resolve("network/network.zip")));
        // the nd4j engine on the oneDNN natives
        String nd4j = run(tmp, Map.of(), home.resolve("bin/spark-dl").toString(), "train", "--data", data,
                "--model", tmp.resolve("model-nd4j").toString(), "--engine", "nd4j", "--epochs", "1", "--workers",
                "2", "--master", "local[2]", "--validation-fraction", "0");
        assertTrue(nd4j.contains("natives=linux-x86_64-onednn") && nd4j.contains("epoch 1:"), nd4j);

        Path sparkHome = SparkSubmitIT.sparkHome(tmp.resolve("spark-home"), sparkJars);
        Path eval = tmp.resolve("eval.json");
        String evaluate = run(tmp, Map.of("SPARK_HOME", sparkHome.toString()), home.resolve("bin/spark-dl").toString(),
                "evaluate", "--data", data, "--model", model.toString(), "--master", "local[2]",
                "--metrics-json", eval.toString());
        assertTrue(evaluate.contains("Spark " + SparkSubmitIT.SPARK_VERSION + " master"), evaluate);
        String submitted = Files.readString(sparkHome.resolve("submit.log"));
        assertTrue(submitted.contains(home.resolve("lib").toString()) && submitted.contains("-app.jar evaluate"),
                "spark-submit ran the distribution's app jar: " + submitted);
        assertTrue(submitted.contains("--jars " + home.resolve("lib/torch").toString() + "/pytorch-"),
                "spark-submit got libtorch's natives jar: " + submitted);
        double acc = new ObjectMapper().readTree(eval.toFile()).get("accuracy").asDouble();
        assertTrue(acc > 0.3, "accuracy after 1 epoch on the training images (10 classes): " + acc);

        // a SPARK_HOME of the other line is refused with one line naming both, before any JVM starts
        Path other = Files.createDirectories(tmp.resolve("other-spark"));
        Files.writeString(other.resolve("RELEASE"), (LINE.equals("3.5") ? "Spark 4.0.1" : "Spark 3.5.7") + "\n");
        String refused = run(tmp, Map.of("SPARK_HOME", other.toString()), 1, home.resolve("bin/spark-dl").toString(),
                "evaluate", "--data", data, "--model", model.toString());
        assertTrue(refused.contains("this distribution is built for Spark " + LINE), refused);
    }

    private static TreeSet<String> names(List<Path> jars) {
        return jars.stream().map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }

    /** Runs a command in {@code dir} with a clean spark-dl environment: no build, classpath or jar given. */
    private static String run(Path dir, Map<String, String> env, String... cmd) throws Exception {
        return run(dir, env, 0, cmd);
    }

    private static String run(Path dir, Map<String, String> env, int exitCode, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(cmd))).directory(dir.toFile())
                .redirectErrorStream(true);
        for (String v : List.of("SPARK_HOME", "SPARK_DL_HOME", "SPARK_DL_CLASSPATH", "SPARK_DL_APP_JAR",
                "SPARK_DL_SPARK_LINE", "SPARK_DL_DEFAULTS")) {
            pb.environment().remove(v);
        }
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("SPARK_DL_DRIVER_MEMORY", "1g");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        assertEquals(exitCode, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }
}
