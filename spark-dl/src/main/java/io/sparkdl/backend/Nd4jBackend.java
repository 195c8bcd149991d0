package io.sparkdl.backend;

import org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Properties;

/**
 * One place that prepares ND4J/DL4J in a JVM (driver or executor) and describes it.
 *
 * <p>DL4J 1.0.0-M2.1 ships its oneDNN layer helpers switched off twice over: the system property
 * {@code org.eclipse.deeplearning4j.helpers.disable} defaults to {@code true}, and the helpers'
 * support check looks for a class that nd4j-native renamed (see {@link org.nd4j.nativeblas.Nd4jCpu}).
 * {@link #init()} enables them unless the user set the property explicitly.
 */
public final class Nd4jBackend {
    private static final Logger LOG = LoggerFactory.getLogger(Nd4jBackend.class);
    static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";
    static final String JAVACPP_EXTENSION = "org.bytedeco.javacpp.platform.extension";
    static final String ONEDNN_NATIVES = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64-onednn/libnd4jcpu.so";
    private static volatile BackendInfo info;

    private Nd4jBackend() {
    }

    /** Idempotent and cheap after the first call; safe to call from every task. */
    /** A BLAS library other than ND4J's own already mapped into this process (Linux), or null. */
    static String foreignBlasLoaded() {
        java.io.File maps = new java.io.File("/proc/self/maps");
        if (!maps.canRead()) {
            return null;
        }
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(maps.toPath())) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.matches(".*/lib(blas|openblas|cblas)[^/]*\\.so[.0-9]*") && !f.contains(".javacpp"))
                    .findFirst().orElse(null);
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    public static BackendInfo init() {
        BackendInfo i = info;
        if (i != null) {
            return i;
        }
        synchronized (Nd4jBackend.class) {
            if (info == null) {
                if (System.getProperty(HELPERS_DISABLE) == null) {
                    System.setProperty(HELPERS_DISABLE, "false");
                }
                String foreignBlas = foreignBlasLoaded();
                if (foreignBlas != null) {
                    LOG.warn("{} is already loaded in this JVM (Spark MLlib's native BLAS, loaded by an MLlib stage "
                            + "that ran first). ND4J loaded now binds its matrix products to it, which measured 5-10x "
                            + "slower. Set spark.plugins=io.sparkdl.backend.Nd4jPlugin (conf/spark-defaults.conf does) "
                            + "so that ND4J loads first on the driver and every executor.", foreignBlas);
                }
                // JavaCPP only loads the oneDNN build of libnd4j (classifier linux-x86_64-onednn) from its
                // own folder when told the extension; this must happen before ND4J loads its natives.
                ClassLoader cl = Nd4jBackend.class.getClassLoader();
                boolean cudaFirst = cl.getResource("org/nd4j/linalg/jcublas/JCublasBackend.class") != null
                        && !"0".equals(System.getenv("BACKEND_PRIORITY_GPU"));
                if (System.getProperty(JAVACPP_EXTENSION) == null && !cudaFirst
                        && cl.getResource(ONEDNN_NATIVES) != null) {
                    System.setProperty(JAVACPP_EXTENSION, "-onednn");
                }
                info = describe();
                LOG.info("spark-dl backend: {}", info);
            }
            return info;
        }
    }

    /** nd4j-cuda-11.6 ships kernels for these compute capabilities only (no PTX for newer GPUs). */
    static final int MIN_CC = 37;
    static final int MAX_CC = 86;

    private static BackendInfo describe() {
        Properties p = Nd4j.getExecutioner().getEnvironmentInformation();
        String backend = String.valueOf(p.getOrDefault("backend", "unknown"));
        if ("CUDA".equalsIgnoreCase(backend)) {
            checkCudaDevices(p);
        }
        String blas = String.valueOf(p.getOrDefault("blas.vendor", "unknown"));
        int ompThreads = parseInt(p.get("omp.threads"), Nd4j.getEnvironment().maxThreads());
        String omp = System.getenv("OMP_NUM_THREADS");
        boolean helpersAllowed = !Boolean.parseBoolean(System.getProperty(HELPERS_DISABLE, "true"));
        String lib = nativeLibrary();
        // "Active" only when DL4J's helpers are on, libnd4j says it uses oneDNN, and the loaded libnd4j is
        // the oneDNN build: the plain linux-x86_64 build answers isUseONEDNN()=true without containing it.
        boolean oneDnn = helpersAllowed && BaseMKLDNNHelper.mklDnnEnabled() && lib.contains("-onednn");
        if ("CPU".equalsIgnoreCase(backend) && !oneDnn) {
            LOG.warn("oneDNN is not in use (native library {}); convolutions run several times slower. Use the "
                    + "nd4j-native classifier linux-x86_64-onednn (the default cpu profile).", lib);
        }
        return new BackendInfo(backend, blas, ompThreads, omp, oneDnn,
                Nd4j.dataType().toString(), Runtime.getRuntime().availableProcessors(), lib);
    }

    /**
     * Fails with a clear message on GPUs the CUDA build cannot run (kernel launches would fail later with
     * "no kernel image is available"). The CPU fallback happens before the JVM starts: ND4J reads its
     * backend priorities once, from BACKEND_PRIORITY_GPU/CPU, which scripts/java-env.sh sets.
     */
    static void checkCudaDevices(Properties p) {
        Object devices = p.get("cuda.devicesInformation");
        if (!(devices instanceof java.util.List<?> list)) {
            return;
        }
        for (Object d : list) {
            if (d instanceof java.util.Map<?, ?> m) {
                int major = parseInt(m.get("cuda.deviceMajor"), 0);
                int minor = parseInt(m.get("cuda.deviceMinor"), 0);
                String problem = unsupportedGpu(String.valueOf(m.get("cuda.deviceName")), major, minor);
                if (problem != null) {
                    throw new IllegalStateException(problem);
                }
            }
        }
    }

    /** The error for a GPU outside nd4j-cuda-11.6's range, or null when it is supported. */
    static String unsupportedGpu(String name, int major, int minor) {
        int cc = major * 10 + minor;
        if (cc >= MIN_CC && cc <= MAX_CC) {
            return null;
        }
        return "GPU " + name + " has compute capability " + major + "." + minor
                + ", but nd4j-cuda-11.6 runs on 3.7-8.6 only. Use the CPU backend: export BACKEND_PRIORITY_GPU=0 "
                + "BACKEND_PRIORITY_CPU=100 before starting the JVM (scripts/spark-dl does this by itself), or build "
                + "without -Pcuda.";
    }

    /** The folder libnd4j was loaded from (e.g. ".../linux-x86_64-onednn"), or "unknown". */
    static String nativeLibrary() {
        for (java.util.Map.Entry<String, String> e : org.bytedeco.javacpp.Loader.getLoadedLibraries().entrySet()) {
            if (e.getKey().equals("nd4jcpu") || e.getKey().equals("nd4jcuda")) {
                String path = e.getValue();
                int slash = path.lastIndexOf('/');
                int prev = slash > 0 ? path.lastIndexOf('/', slash - 1) : -1;
                return prev >= 0 ? path.substring(prev + 1, slash) : path;
            }
        }
        return "unknown";
    }

    private static int parseInt(Object o, int dflt) {
        try {
            return o == null ? dflt : Integer.parseInt(o.toString().trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** What the ND4J backend in this JVM is, as logged at start-up. */
    public record BackendInfo(String backend, String blas, int threads, String ompNumThreadsEnv,
                              boolean oneDnnActive, String dataType, int cpus, String nativeBuild) {
        @Override
        public String toString() {
            return "backend=" + backend + ", blas=" + blas + ", threads=" + threads
                    + " (OMP_NUM_THREADS=" + (ompNumThreadsEnv == null ? "unset" : ompNumThreadsEnv) + ")"
                    + ", oneDNN=" + (oneDnnActive ? "active" : "inactive") + ", natives=" + nativeBuild
                    + ", dtype=" + dataType
                    + ", cpus=" + cpus;
        }
    }
}
