package org.nd4j.nativeblas;

import java.lang.reflect.Method;

/**
 * Compatibility shim for a class-name bug in deeplearning4j-nn 1.0.0-M2.1.
 *
 * <p>{@code BaseMKLDNNHelper.mklDnnEnabled()} looks up {@code org.nd4j.nativeblas.Nd4jCpu$Environment}
 * and calls {@code getInstance().isUseMKLDNN()}; nd4j-native M2.1 moved that class to
 * {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and renamed the method
 * {@code isUseONEDNN}. The lookup fails, every oneDNN layer helper reports "unsupported" and DL4J
 * silently runs its slower built-in conv/pool/batch-norm code. This class answers the old lookup
 * by delegating to the real binding through reflection, so it also compiles and loads under the
 * CUDA backend (where the answer is simply {@code false}).
 *
 * <p>Only {@link io.sparkdl.backend.Nd4jBackend} relies on it; nothing else should use it.
 */
public final class Nd4jCpu {
    private Nd4jCpu() {
    }

    /** Mirrors the two methods DL4J calls reflectively. */
    public static final class Environment {
        private static final String BINDING = "org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment";
        private static final Environment INSTANCE = new Environment();

        private Environment() {
        }

        public static Environment getInstance() {
            return INSTANCE;
        }

        /** True when the native CPU backend is loaded and has oneDNN switched on. */
        public boolean isUseMKLDNN() {
            try {
                Class<?> c = Class.forName(BINDING);
                Object env = c.getMethod("getInstance").invoke(null);
                Method m = c.getMethod("isUseONEDNN");
                return (Boolean) m.invoke(env);
            } catch (ReflectiveOperationException | LinkageError e) {
                return false;
            }
        }
    }
}
