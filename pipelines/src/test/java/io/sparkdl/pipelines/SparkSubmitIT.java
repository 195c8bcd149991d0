package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shaded application jar under spark-submit (runs in {@code mvn verify}, after {@code package} built the
 * jar). No Spark distribution is downloaded: the test lays out a SPARK_HOME whose jars/ holds exactly the
 * jars a Spark distribution ships (Spark's dependencies, Hadoop client, Scala, slf4j: see pipelines/pom.xml)
 * and whose bin/spark-submit
 * asks Spark's own launcher ({@code org.apache.spark.launcher.Main}, as a Spark distribution's spark-class
 * does) for the driver command. So the jar runs with only what a cluster supplies on its classpath.
 */
class SparkSubmitIT {

    @Test
    void appJarHoldsNoSparkAndRelocatesClashingLibraries() throws Exception {
        File jar = appJar();
        try (ZipFile z = new ZipFile(jar)) {
            assertNotNull(z.getEntry("io/sparkdl/pipelines/SparkDl.class"));
            assertNotNull(z.getEntry("io/sparkdl/classification/CnnClassifier.class"));
            assertNotNull(z.getEntry("org/nd4j/linalg/factory/Nd4j.class"));
            assertNotNull(z.getEntry("io/sparkdl/shaded/gson/Gson.class"));
            assertTrue(z.stream().anyMatch(e -> e.getName().contains("linux-x86_64-onednn/")),
                    "the oneDNN natives are inside");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/apache/spark/")), "Spark is provided");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("scala/")), "Scala is provided");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("com/google/gson/")), "gson is relocated");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/slf4j/")), "slf4j comes from Spark");
        }
    }

    @Test
    void trainAndEvaluateThroughSparkSubmit() throws Exception {
        File root = projectRoot();
        Path dir = root.toPath().resolve("pipelines/target/it-spark-submit");
        deleteTree(dir);
        Path home = sparkHome(root, dir.resolve("spark-home"));
        String data = new File(root, "test-data/fashion-mnist-small").getPath();
        Path model = dir.resolve("model");
        Path eval = dir.resolve("eval.json");
        String trainLog = launch(root, home, "train", "--data", data, "--model", model.toString(), "--epochs", "2",
                "--workers", "2", "--master", "local[2]", "--validation-fraction", "0");
        assertTrue(trainLog.contains("natives=linux-x86_64-onednn"), "driver uses the oneDNN natives:\n" + trainLog);
        assertTrue(trainLog.contains("epoch 2:"), trainLog);
        assertTrue(new File(model.toFile(), "network/network.zip").isFile());
        launch(root, home, "evaluate", "--data", data, "--model", model.toString(), "--master", "local[2]",
                "--metrics-json", eval.toString());
        double acc = new ObjectMapper().readTree(eval.toFile()).get("accuracy").asDouble();
        assertTrue(acc > 0.5, "accuracy after 2 epochs on the training images: " + acc);
    }

    private static String launch(File root, Path home, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", new File(root, "scripts/spark-dl").getPath()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root).redirectErrorStream(true);
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_DL_APP_JAR", appJar().getPath());
        pb.environment().put("SPARK_DL_DRIVER_MEMORY", "1g");
        pb.environment().remove("SPARK_DL_CLASSPATH");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "spark-submit " + args[0] + " did not finish");
        assertEquals(0, p.exitValue(), "spark-submit " + args[0] + " failed:\n" + out);
        assertTrue(out.contains("Running Spark version") || out.contains("Spark 3.5"), out);
        return out;
    }

    /** SPARK_HOME with jars/ = what a Spark distribution ships, and a bin/spark-submit built on Spark's launcher. */
    private static Path sparkHome(File root, Path home) throws Exception {
        Path jars = Files.createDirectories(home.resolve("jars"));
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("RELEASE"), "Spark 3.5 (spark-dl test layout)\n");
        String cp = Files.readString(root.toPath().resolve("pipelines/target/spark-distribution-classpath.txt"))
                .trim();
        for (String e : cp.split(File.pathSeparator)) {
            Path src = Path.of(e);
            assertFalse(src.getFileName().toString().startsWith("spark-dl"), "spark-dl is not part of Spark");
            Files.createSymbolicLink(jars.resolve(src.getFileName()), src);
        }
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, """
                #!/usr/bin/env bash
                # spark-class's recipe: Spark's launcher prints the driver command (NUL-separated), then run it.
                set -uo pipefail
                export SPARK_HOME="$(cd "$(dirname "$0")/.." && pwd)"
                export SPARK_SCALA_VERSION="${SPARK_SCALA_VERSION:-2.12}"   # as load-spark-env.sh does
                JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
                # Spark's launcher prints a NUL marker line, then the command as NUL-separated words.
                CMD=()
                while IFS= read -r -d '' part; do
                  part="${part#$'\n'}"
                  if [ ${#CMD[@]} -eq 0 ] && [ -z "$part" ]; then continue; fi
                  CMD+=("$part")
                done < <(
                  "$JAVA" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main \\
                    org.apache.spark.deploy.SparkSubmit "$@"; printf '%d\\0' $?)
                rc=${CMD[${#CMD[@]}-1]}; unset 'CMD[${#CMD[@]}-1]'
                [ "$rc" = 0 ] || exit "$rc"
                exec "${CMD[@]}"
                """);
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    private static File appJar() {
        File[] jars = new File(projectRoot(), "pipelines/target")
                .listFiles((d, n) -> n.startsWith("spark-dl-pipelines-") && n.endsWith("-app.jar"));
        assertTrue(jars != null && jars.length == 1, "mvn package builds one app jar in pipelines/target");
        return jars[0];
    }

    private static File projectRoot() {
        File f = new File("").getAbsoluteFile();
        return new File(f, "scripts").isDirectory() ? f : f.getParentFile();
    }

    private static void deleteTree(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }
}
