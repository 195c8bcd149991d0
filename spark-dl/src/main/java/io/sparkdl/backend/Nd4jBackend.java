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
    private static volatile BackendInfo info;

    private Nd4jBackend() {
    }

    /** Idempotent and cheap after the first call; safe to call from every task. */
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
                info = describe();
                LOG.info("spark-dl backend: {}", info);
            }
            return info;
        }
    }

    private static BackendInfo describe() {
        Properties p = Nd4j.getExecutioner().getEnvironmentInformation();
        String backend = String.valueOf(p.getOrDefault("backend", "unknown"));
        String blas = String.valueOf(p.getOrDefault("blas.vendor", "unknown"));
        int ompThreads = parseInt(p.get("omp.threads"), Nd4j.getEnvironment().maxThreads());
        String omp = System.getenv("OMP_NUM_THREADS");
        boolean helpersAllowed = !Boolean.parseBoolean(System.getProperty(HELPERS_DISABLE, "true"));
        boolean oneDnn = helpersAllowed && BaseMKLDNNHelper.mklDnnEnabled();
        return new BackendInfo(backend, blas, ompThreads, omp, oneDnn,
                Nd4j.dataType().toString(), Runtime.getRuntime().availableProcessors());
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
                              boolean oneDnnActive, String dataType, int cpus) {
        @Override
        public String toString() {
            return "backend=" + backend + ", blas=" + blas + ", threads=" + threads
                    + " (OMP_NUM_THREADS=" + (ompNumThreadsEnv == null ? "unset" : ompNumThreadsEnv) + ")"
                    + ", oneDNN=" + (oneDnnActive ? "active" : "inactive") + ", dtype=" + dataType
                    + ", cpus=" + cpus;
        }
    }
}
