package io.sparkdl.release;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A user's Maven project (src/it/consumer) that declares only spark-dl_SCALA and spark-mllib_SCALA, built and
 * run against the library just packaged (runs in {@code mvn verify}). The jar and its published (flattened)
 * POM are installed into a local repository under target/consumer-it, never into ~/.m2; that repository
 * fetches everything else from the build's own local repository (as a file:// remote), then from Maven
 * Central. The program fits a CnnClassifier on an embedded local Spark, saves and loads it and compares the
 * predictions; it prints the jackson-core and natives that the user's classpath got.
 */
class ConsumerProjectIT {
    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path WORK = MODULE.resolve("target/consumer-it");

    @Test
    void userProjectWithOnlySparkDlAndMllibFitsSavesAndLoads() throws Exception {
        Path repo = WORK.resolve("repo");
        deleteTree(repo.resolve("io/sparkdl"));
        Path project = WORK.resolve("project");
        deleteTree(project);
        copyTree(MODULE.resolve("src/it/consumer"), project);
        Path settings = WORK.resolve("settings.xml");
        Files.writeString(settings, settings(repo, Path.of(prop("outer.localRepository"))));

        // outside any project, so that install-file reads only the POM it is given
        String install = mvn(settings, WORK, "org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file",
                "-Dfile=" + prop("spark-dl.jar"), "-DpomFile=" + prop("spark-dl.pom"));
        String artifact = "spark-dl_" + prop("scala.binary.version");
        Path installedPom = repo.resolve("io/sparkdl/" + artifact + "/" + prop("project.version") + "/" + artifact
                + "-" + prop("project.version") + ".pom");
        assertTrue(Files.isRegularFile(installedPom), install);
        String pom = Files.readString(installedPom);
        assertTrue(pom.contains("<artifactId>" + artifact + "</artifactId>") && !pom.contains("${"),
                "the published POM has every property resolved:\n" + pom);

        String out = mvn(settings, project, "compile", "exec:exec",
                "-Dscala.binary.version=" + prop("scala.binary.version"), "-Dspark.version=" + prop("spark.version"),
                "-Dspark-dl.version=" + prop("project.version"),
                "-Dconsumer.data=" + MODULE.getParent().resolve("test-data/fashion-mnist-small"),
                "-Dconsumer.jvmArgs=-Xmx2g " + prop("spark.java.opens") + " -Dlog4j2.configurationFile="
                        + MODULE.getParent().resolve("conf/log4j2-test.properties"));
        assertTrue(out.contains("predictions equal after load: true"), out);
        assertTrue(out.contains("consumer: spark " + prop("spark.version") + ","), out);
        assertTrue(out.contains("jackson-core " + prop("jackson.version") + ","),
                "the library's jackson wins over the one Spark's avro brings:\n" + out);
        assertTrue(out.contains("natives=linux-x86_64-onednn"), "CPU oneDNN natives by default:\n" + out);
    }

    private static String settings(Path repo, Path outerRepo) {
        return """
                <settings>
                  <localRepository>%s</localRepository>
                  <profiles>
                    <profile>
                      <id>build-cache</id>
                      <repositories>
                        <repository>
                          <id>build-local-repository</id>
                          <url>%s</url>
                          <snapshots><enabled>false</enabled></snapshots>
                        </repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository>
                          <id>build-local-repository</id>
                          <url>%s</url>
                          <snapshots><enabled>false</enabled></snapshots>
                        </pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>build-cache</activeProfile></activeProfiles>
                </settings>
                """.formatted(repo, outerRepo.toUri(), outerRepo.toUri());
    }

    /** Runs Maven in {@code dir} (the consumer project, or a folder without a pom.xml). */
    private static String mvn(Path settings, Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(new File(prop("maven.home"), "bin/mvn").getPath(), "-B",
                "-s", settings.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().remove("MAVEN_ARGS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(900, TimeUnit.SECONDS), "mvn " + String.join(" ", args) + " did not finish");
        assertEquals(0, p.exitValue(), "mvn " + String.join(" ", args) + " failed:\n" + out);
        return out;
    }

    private static String prop(String name) {
        String v = System.getProperty(name);
        assertTrue(v != null && !v.isEmpty(), "failsafe passes system property " + name + " (spark-dl/pom.xml)");
        return v;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
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

    private static void deleteTree(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }
}
