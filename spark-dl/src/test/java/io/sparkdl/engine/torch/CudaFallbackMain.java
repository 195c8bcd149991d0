package io.sparkdl.engine.torch;

import io.sparkdl.nn.NetworkSpec;
import org.bytedeco.javacpp.Loader;

import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Run in its own JVM by {@link TorchCudaFallbackTest} (with libtorch's CUDA build on the classpath beside the CPU
 * build, as {@code mvn -Pcuda} ships them): trains LeNet on the torch engine for a few batches and prints, on one
 * line each, the libtorch folder JavaCPP loaded, the device and the loss before and after.
 */
public final class CudaFallbackMain {
    private CudaFallbackMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("find")) {
            find();
            return;
        }
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

    /**
     * Where JavaCPP would take libtorch's libraries from with this JVM's platform extension, without loading
     * any: the preload list and, for each library it loads, the jar folders in the order it tries them.
     */
    private static void find() throws Exception {
        Class<?> global = Class.forName("org.bytedeco.pytorch.global.torch", false,
                CudaFallbackMain.class.getClassLoader());
        org.bytedeco.javacpp.ClassProperties p = Loader.loadProperties(global, Loader.loadProperties(true), true);
        System.out.println("find: preload=" + String.join(",", p.get("platform.preload")));
        List<String> names = new ArrayList<>(p.get("platform.preload"));
        names.addAll(p.get("platform.link"));
        names.add(p.getProperty("platform.library"));
        for (String name : names) {
            List<String> dirs = new ArrayList<>();
            for (URL u : Loader.findLibrary(global, p, name, false)) {
                String s = u.toString();
                if (s.startsWith("jar:")) {
                    dirs.add(s.substring(s.indexOf("!/") + 2, s.lastIndexOf('/')));
                }
            }
            System.out.println("find: " + name + "=" + String.join(",", dirs));
        }
    }
}
