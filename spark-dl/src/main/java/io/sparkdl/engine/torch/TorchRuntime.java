package io.sparkdl.engine.torch;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads libtorch (the JavaCPP presets) once per JVM, on the driver and on executors, before any tensor exists.
 * <ul>
 *   <li>The presets' natives are unpacked first ({@code Loader.cacheResources}): with an empty
 *   {@code ~/.javacpp/cache}, {@code libtorch.so} was opened before {@code libtorch_cpu.so} was unpacked and the
 *   dynamic loader picked up a system libtorch (Debian's 1.13 from python3-torch), which crashed the JVM.</li>
 *   <li>OpenBLAS is capped at one thread: its own pool fought libtorch's OpenMP threads (7-8x slower).</li>
 *   <li>libtorch's intra-op threads are set explicitly per JVM, so tasks x threads can stay within the cores.</li>
 * </ul>
 */
public final class TorchRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
    private static final String NATIVES = "/org/bytedeco/pytorch/linux-x86_64/";
    private static boolean loaded;
    private static final String[] BF16_FLAGS = {"avx512_bf16", "amx_bf16"};
    /** Tests set it to pretend the CPU has (TRUE) or lacks (FALSE) native bf16; null reads the CPU. */
    static volatile Boolean nativeBf16Override;
    private static Boolean cpuBf16;

    private TorchRuntime() {
    }

    /**
     * Loads libtorch if needed and sets its intra-op thread count.
     *
     * @param threads intra-op threads for this JVM (at least 1)
     */
    public static synchronized void init(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("torch threads must be >= 1 but was " + threads);
        }
        if (!loaded) {
            if (TorchRuntime.class.getResource(NATIVES + "libtorch_cpu.so") == null) {
                throw new IllegalStateException("the torch engine needs org.bytedeco:pytorch with classifier "
                        + "linux-x86_64 on the classpath (natives " + NATIVES + " not found)");
            }
            try {
                Loader.cacheResources(NATIVES);
            } catch (Exception e) {
                throw new IllegalStateException("could not unpack the libtorch natives into the JavaCPP cache ("
                        + System.getProperty("user.home") + "/.javacpp/cache): " + e.getMessage(), e);
            }
            Loader.load(torch.class);
            org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
            loaded = true;
            LOG.info("torch engine: libtorch loaded ({} natives), OpenBLAS capped at 1 thread", NATIVES);
        }
        if (torch.get_num_threads() != threads) {
            torch.set_num_threads(threads);
        }
    }

    /**
     * Whether this CPU computes bfloat16 natively: {@code avx512_bf16} or {@code amx_bf16} among the flags in
     * {@code /proc/cpuinfo} (libtorch's oneDNN uses them for bf16 convolutions and matrix products; without them
     * bf16 is emulated and slower than fp32). The presets expose no such query ({@code get_cpu_capability} names
     * only the vector width), so the kernel's flags are read; a system without {@code /proc/cpuinfo} has none.
     */
    public static synchronized boolean nativeBf16() {
        Boolean o = nativeBf16Override;
        if (o != null) {
            return o;
        }
        if (cpuBf16 == null) {
            cpuBf16 = cpuFlagsHaveBf16();
        }
        return cpuBf16;
    }

    private static boolean cpuFlagsHaveBf16() {
        java.nio.file.Path info = java.nio.file.Path.of("/proc/cpuinfo");
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(info)) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> java.util.Arrays.asList(l.substring(l.indexOf(':') + 1).trim().split("\\s+")))
                    .map(flags -> java.util.Arrays.stream(BF16_FLAGS).anyMatch(flags::contains))
                    .orElse(false);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("torch engine: could not read {} ({}); assuming no native bf16", info, e.toString());
            return false;
        }
    }
}
