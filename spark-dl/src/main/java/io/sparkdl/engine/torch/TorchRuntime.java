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
}
