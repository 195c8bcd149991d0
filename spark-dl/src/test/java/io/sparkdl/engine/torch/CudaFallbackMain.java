package io.sparkdl.engine.torch;

import io.sparkdl.nn.NetworkSpec;
import org.bytedeco.javacpp.Loader;

import java.util.Random;

/**
 * Run in its own JVM by {@link TorchCudaFallbackTest} (with libtorch's CUDA build on the classpath beside the CPU
 * build, as {@code mvn -Pcuda} ships them): trains LeNet on the torch engine for a few batches and prints, on one
 * line each, the libtorch folder JavaCPP loaded, the device and the loss before and after.
 */
public final class CudaFallbackMain {
    private CudaFallbackMain() {
    }

    public static void main(String[] args) {
        NetworkSpec.Settings s = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 9);
        int n = 64;
        Random r = new Random(3);
        float[][] templates = new float[10][784];
        for (float[] t : templates) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) r.nextGaussian();
            }
        }
        float[] x = new float[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 10;
            for (int j = 0; j < 784; j++) {
                x[i * 784 + j] = templates[y[i]][j] + 0.5f * (float) r.nextGaussian();
            }
        }
        try (TorchNetwork net = new TorchNetwork(NetworkSpec.parse("lenet"), 28, 28, 1, 10, s, 1, 0, false)) {
            double before = net.loss(x, y, n);
            for (int i = 0; i < 30; i++) {
                net.fit(x, y, n);
            }
            double after = net.loss(x, y, n);
            System.out.println("fallback-main: jnitorch=" + Loader.getLoadedLibraries().get("jnitorch"));
            System.out.println("fallback-main: torch_cpu=" + Loader.getLoadedLibraries().get("torch_cpu"));
            System.out.println("fallback-main: loaded=" + String.join(" ", Loader.getLoadedLibraries().values()));
            System.out.println("fallback-main: device=" + TorchRuntime.device().str().getString());
            System.out.println("fallback-main: loss " + before + " -> " + after);
        }
    }
}
