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
    /** The Spark line this build is for (failsafe passes the pom's properties). */
    static final String SPARK_VERSION = System.getProperty("spark.version", "3.5.7");
    private static final String SCALA_BINARY = System.getProperty("scala.binary.version", "2.12");

    @Test
    void appJarHoldsNoSparkAndRelocatesClashingLibraries() throws Exception {
        File jar = appJar();
        try (ZipFile z = new ZipFile(jar)) {
            assertNotNull(z.getEntry("io/sparkdl/pipelines/SparkDl.class"));
            assertNotNull(z.getEntry("picocli/CommandLine.class"), "the command line's picocli is inside");
            assertNotNull(z.getEntry("io/sparkdl/classification/CnnClassifier.class"));
            assertNotNull(z.getEntry("org/nd4j/linalg/factory/Nd4j.class"));
            assertNotNull(z.getEntry("io/sparkdl/shaded/gson/Gson.class"));
            assertTrue(z.stream().anyMatch(e -> e.getName().contains("linux-x86_64-onednn/")),
                    "the oneDNN natives are inside");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/apache/spark/")), "Spark is provided");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("scala/")), "Scala is provided");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("com/google/gson/")), "gson is relocated");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/slf4j/")), "slf4j comes from Spark");
            // libtorch's natives travel in their own jar (target/torch-natives, lib/torch of the distribution)
            assertNotNull(z.getEntry("org/bytedeco/pytorch/global/torch.class"), "libtorch's classes are inside");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/bytedeco/pytorch/linux-")),
                    "libtorch's natives are not inside");
            // natives for linux-x86_64 only (JavaCPP's folders are linux-x86_64*, JNA's linux-x86-64)
            List<String> foreign = z.stream().map(java.util.zip.ZipEntry::getName)
                    .filter(n -> n.matches(".*\\.(so(\\.[0-9.]+)?|dll|dylib|jnilib|a)$"))
                    .filter(n -> !n.contains("/linux-x86_64") && !n.contains("/linux-x86-64/"))
                    .collect(java.util.stream.Collectors.toList());
            assertEquals(List.of(), foreign, "natives of other platforms in the app jar");
        }
        File[] torch = new File(projectRoot(), "pipelines/target/torch-natives")
                .listFiles((d, n) -> n.matches("pytorch-.*-linux-x86_64\\.jar"));
        assertTrue(torch != null && torch.length == 1, "mvn package copies libtorch's natives jar to "
                + "pipelines/target/torch-natives");
        try (ZipFile z = new ZipFile(torch[0])) {
            assertNotNull(z.getEntry("org/bytedeco/pytorch/linux-x86_64/libtorch_cpu.so"));
        }
    }

    @Test
    void trainAndEvaluateThroughSparkSubmit() throws Exception {
        File root = projectRoot();
        Path dir = root.toPath().resolve("pipelines/target/it-spark-submit");
        deleteTree(dir);
        Path home = sparkHome(dir.resolve("spark-home"), distributionJars(root));
        String data = new File(root, "test-data/fashion-mnist-small").getPath();
        Path model = dir.resolve("model");
        Path eval = dir.resolve("eval.json");
        // the default engine, torch: scripts/spark-dl passes libtorch's natives jar with --jars
        String trainLog = launch(root, home, "train", "--data", data, "--model", model.toString(), "--epochs", "2",
                "--workers", "2", "--master", "local[2]", "--validation-fraction", "0");
        assertTrue(trainLog.contains("torch engine: libtorch loaded"), trainLog);
        assertTrue(trainLog.contains("epoch 2:"), trainLog);
        assertTrue(new File(model.toFile(), "network/network.zip").isFile());
        launch(root, home, "evaluate", "--data", data, "--model", model.toString(), "--master", "local[2]",
                "--metrics-json", eval.toString());
        double acc = new ObjectMapper().readTree(eval.toFile()).get("accuracy").asDouble();
        assertTrue(acc > 0.5, "accuracy after 2 epochs on the training images: " + acc);

        // the nd4j engine, on the oneDNN natives
        Path nd4jModel = dir.resolve("model-nd4j");
        String nd4jLog = launch(root, home, "train", "--data", data, "--model", nd4jModel.toString(), "--engine",
                "nd4j", "--epochs", "1", "--workers", "2", "--master", "local[2]", "--validation-fraction", "0");
        assertTrue(nd4jLog.contains("natives=linux-x86_64-onednn"), "driver uses the oneDNN natives:\n" + nd4jLog);
        assertFalse(nd4jLog.contains("torch engine: libtorch loaded"), nd4jLog);
        assertTrue(nd4jLog.contains("epoch 1:"), nd4jLog);
        String submitted = Files.readString(home.resolve("submit.log"));
        assertTrue(submitted.contains("--jars ") && submitted.contains("torch-natives/pytorch-"), submitted);
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
        assertTrue(out.contains("Spark " + SPARK_VERSION + " master"), "runs on the Spark of this line:\n" + out);
        return out;
    }

    /** The jars a Spark distribution of this line ships (Spark's dependencies: see pipelines/pom.xml). */
    static List<Path> distributionJars(File root) throws Exception {
        String cp = Files.readString(root.toPath().resolve("pipelines/target/spark-distribution-classpath.txt"))
                .trim();
        List<Path> jars = new java.util.ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            jars.add(Path.of(e));
        }
        return jars;
    }

    /**
     * A SPARK_HOME whose jars/ holds {@code jars}, whose RELEASE names this build's Spark version, and whose
     * bin/spark-submit is built on Spark's launcher.
     */
    static Path sparkHome(Path home, List<Path> jars) throws Exception {
        Path jarDir = Files.createDirectories(home.resolve("jars"));
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("conf"));
        // scripts/spark-dl picks the Spark line from this file, as from a real distribution's
        Files.writeString(home.resolve("RELEASE"), "Spark " + SPARK_VERSION + " (spark-dl test layout)\n");
        for (Path src : jars) {
            assertFalse(src.getFileName().toString().startsWith("spark-dl"), "spark-dl is not part of Spark");
            Files.createSymbolicLink(jarDir.resolve(src.getFileName()), src.toAbsolutePath());
        }
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, """
                #!/usr/bin/env bash
                # spark-class's recipe: Spark's launcher prints the driver command (NUL-separated), then run it.
                set -uo pipefail
                export SPARK_HOME="$(cd "$(dirname "$0")/.." && pwd)"
                echo "$*" >> "$SPARK_HOME/submit.log"   # what was submitted, for the tests
                export SPARK_SCALA_VERSION="${SPARK_SCALA_VERSION:-@SCALA@}"   # as load-spark-env.sh does
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
                """.replace("@SCALA@", SCALA_BINARY));
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    static File appJar() {
        File[] jars = new File(projectRoot(), "pipelines/target")
                .listFiles((d, n) -> n.startsWith("spark-dl-pipelines_") && n.endsWith("-app.jar"));
        assertTrue(jars != null && jars.length == 1, "mvn package builds one app jar in pipelines/target");
        return jars[0];
    }

    static File projectRoot() {
        File f = new File("").getAbsoluteFile();
        return new File(f, "scripts").isDirectory() ? f : f.getParentFile();
    }

    static void deleteTree(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }
}
