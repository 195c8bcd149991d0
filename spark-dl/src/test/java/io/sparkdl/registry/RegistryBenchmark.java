package io.sparkdl.registry;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.HdfsStore;
import io.sparkdl.testkit.S3Store;
import io.sparkdl.testkit.SparkTest;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Publish and promote times of a registry version holding a LeNet model, on a local disk, an in-process HDFS and
 * S3A against s3proxy on loopback. Not part of the suite (surefire's default includes do not match the name);
 * {@code scripts/bench-registry} runs it and prints the table it writes to {@code target/bench/registry.md}.
 * Each store gets {@code bench.registry.reps} versions (default 5); the first is a warm-up and not counted.
 */
class RegistryBenchmark {
    @RegisterExtension
    static final HdfsStore HDFS = new HdfsStore();
    @RegisterExtension
    static final S3Store S3 = new S3Store();
    @TempDir
    Path tmp;

    @Test
    void publishAndPromoteOnEachStore() throws IOException {
        int reps = Integer.getInteger("bench.registry.reps", 5);
        CnnClassifierModel model = Fuzzers.tinyModel();
        Configuration hc = SparkTest.spark().sparkContext().hadoopConfiguration();
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "LeNet, %d parameters, %d classes; median (min) of %d versions "
                        + "per store, ms%n%n", model.network().numParams(), model.labels().length, reps))
                .append("| store | save model | manifest (SHA-256) | publish total | verify checksums | promote "
                        + "(state.json + CHAMPION) | open registry | version size |\n")
                .append("|---|---|---|---|---|---|---|---|\n");
        for (String[] store : new String[][]{{"local disk", tmp.resolve("registry").toString()},
                {"HDFS (MiniDFSCluster)", HDFS.uri("registry")}, {"S3A -> s3proxy (loopback)", S3.uri("registry")}}) {
            String root = store[1];
            List<double[]> rows = new ArrayList<>();
            long bytes = 0;
            for (int i = 0; i <= reps; i++) {
                try (RegistryLock lock = RegistryLock.acquire(root, hc, Duration.ofMinutes(5))) {
                    ModelRegistry reg = ModelRegistry.open(root, hc);
                    String id = ModelRegistry.newVersionId(Instant.now().plusSeconds(i));
                    long t0 = System.nanoTime();
                    String dir = reg.startVersion(id);
                    model.write().save(dir + "/model");
                    HadoopFiles.writeString(dir + "/metrics.json", "{\"partitions\": [\"2026-11-2" + i
                            + "\"], \"promoted\": true}", hc);
                    long t1 = System.nanoTime();
                    reg.publishVersion(id);
                    long t2 = System.nanoTime();
                    reg.verifiedVersion(id);
                    long t3 = System.nanoTime();
                    lock.assertHeld();
                    reg.commit(id, "2026-11-2" + i, true, null);
                    long t4 = System.nanoTime();
                    ModelRegistry.open(root, hc);
                    long t5 = System.nanoTime();
                    assertEquals(id, reg.champion());
                    assertNull(RegistryProbe.problem(root, id, hc));
                    bytes = size(dir, hc);
                    if (i > 0) {
                        rows.add(new double[]{t1 - t0, t2 - t1, t2 - t0, t3 - t2, t4 - t3, t5 - t4});
                    }
                }
            }
            table.append("| ").append(store[0]);
            for (int c = 0; c < 6; c++) {
                final int col = c;
                double[] v = rows.stream().mapToDouble(r -> r[col] / 1e6).sorted().toArray();
                table.append(String.format(Locale.ROOT, " | %.0f (%.0f)", v[v.length / 2], v[0]));
            }
            table.append(String.format(Locale.ROOT, " | %.2f MB |%n", bytes / 1e6));
        }
        Path out = Path.of("target/bench/registry.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table.toString());
        System.out.println(table);
    }

    private static long size(String dir, Configuration hc) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
        return p.getFileSystem(hc).getContentSummary(p).getLength();
    }

}
