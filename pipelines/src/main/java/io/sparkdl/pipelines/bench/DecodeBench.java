package io.sparkdl.pipelines.bench;

import io.sparkdl.image.ImageCodec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Decode benchmark for scripts/bench-decode: the per-row work of {@code ImageDecoder} with
 * {@code setSize(H, W).setChannels(3)} ({@link ImageCodec#decode(byte[], int, int, int, long)}: decode, EXIF
 * orientation, area resize) on one thread, over files read into memory first (disk excluded, as on the
 * Pillow side). A warm-up pass over WARMUP files lets the JIT compile, then one timed pass over all.
 * Prints one line: {@code spark-dl-decode images=N seconds=S images_per_second=R cpu_seconds=T
 * images_per_cpu_second=Q checksum=C} (T: the process's CPU time over the timed pass).
 *
 * <p>Args: DIR_OR_FILE HEIGHT WIDTH WARMUP [PASSES (default 1)]
 */
public final class DecodeBench {
    private DecodeBench() {
    }

    public static void main(String[] args) throws IOException, ImageCodec.DecodeException {
        Path in = Path.of(args[0]);
        int h = Integer.parseInt(args[1]);
        int w = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int passes = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        List<byte[]> files = new ArrayList<>();
        if (Files.isDirectory(in)) {
            try (Stream<Path> s = Files.list(in)) {
                for (Path p : s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList()) {
                    files.add(Files.readAllBytes(p));
                }
            }
        } else {
            files.add(Files.readAllBytes(in));
        }
        long checksum = 0;
        for (int i = 0; i < warmup; i++) {
            checksum += ImageCodec.decode(files.get(i % files.size()), 3, h, w, ImageCodec.DEFAULT_MAX_PIXELS).data()[0];
        }
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long c0 = ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        long t0 = System.nanoTime();
        int n = 0;
        for (int p = 0; p < passes; p++) {
            for (byte[] f : files) {
                checksum += ImageCodec.decode(f, 3, h, w, ImageCodec.DEFAULT_MAX_PIXELS).data()[0];
                n++;
            }
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        // The whole process's CPU time (JIT and GC threads included): on a core shared with other work
        // it counts this benchmark's own work only, where wall time also counts the others' time slices.
        double cpu = (((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() - c0) / 1e9;
        System.out.printf("spark-dl-decode images=%d seconds=%.3f images_per_second=%.1f cpu_seconds=%.3f "
                + "images_per_cpu_second=%.1f checksum=%d%n", n, sec, n / sec, cpu, n / cpu, checksum);
    }
}
