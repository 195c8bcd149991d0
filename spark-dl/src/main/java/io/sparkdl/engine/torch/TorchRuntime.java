package io.sparkdl.engine.torch;

import org.apache.spark.SparkEnv;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DimnameListOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Loads libtorch (the JavaCPP presets) once per JVM, on the driver and on executors, before any tensor exists,
 * and chooses the device its tensors live on.
 * <ul>
 *   <li>The presets' natives are unpacked first ({@code Loader.cacheResources}): with an empty
 *   {@code ~/.javacpp/cache}, {@code libtorch.so} was opened before {@code libtorch_cpu.so} was unpacked and the
 *   dynamic loader picked up a system libtorch (Debian's 1.13 from python3-torch), which crashed the JVM.</li>
 *   <li>The natives are not inside the application jar: they come in their own jar (org.bytedeco:pytorch with
 *   classifier linux-x86_64; lib/torch/ of the distribution). Without it the first torch network fails with
 *   one message naming the jar and how to add it.</li>
 *   <li>OpenBLAS is capped at one thread: its own pool fought libtorch's OpenMP threads (7-8x slower).</li>
 *   <li>libtorch's intra-op threads are set explicitly ({@link TorchThreads} picks them per task), so tasks x
 *   threads stay within the cores.</li>
 *   <li>The device: {@value #DEVICE_CONF} ({@code cpu}, the default, or {@code cuda}; a Spark conf, else a JVM
 *   system property). {@code cuda} needs the {@code -Pcuda} build, which ships libtorch's CUDA build
 *   (linux-x86_64-gpu) beside its CPU build (linux-x86_64), and the host's CUDA 13 libraries (cuBLAS, cuDNN 9,
 *   NCCL, ...: not on Maven Central). The build is chosen per JVM before libtorch loads, through JavaCPP's
 *   platform extension ({@code -gpu} or not: the two builds mixed in one JVM abort libtorch): the CUDA build
 *   when {@code cuda} is asked for and the host has those libraries, the CPU build otherwise. With the CPU
 *   build only, with the CUDA build on a host that lacks the libraries, or on one whose GPU
 *   {@code torch.cuda_is_available()} does not see, one line says why and the engine runs on the CPU. The CUDA
 *   build alone on a host without the libraries cannot load at all: it is refused with one line.</li>
 * </ul>
 */
public final class TorchRuntime {
    /** Spark conf (or JVM system property) choosing libtorch's device: {@code cpu} (default) or {@code cuda}. */
    public static final String DEVICE_CONF = "spark.sparkdl.torch.device";
    private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
    static final String NATIVES = "/org/bytedeco/pytorch/linux-x86_64/";
    static final String GPU_NATIVES = "/org/bytedeco/pytorch/linux-x86_64-gpu/";
    /**
     * What the CUDA build needs from the host, from {@code readelf -d} of pytorch 2.10.0-1.5.13
     * linux-x86_64-gpu's libtorch_cpu.so, libtorch_cuda.so and libjnitorch_cuda.so and of cuda 13.1-9.19-1.5.13's
     * libjnicudart.so (the CUDA preset's jar holds only its JNI wrappers; its -redist jar is not used).
     * libcuda.so.1 is the driver's. Each is opened (dlopen) before libtorch, so a missing one is named.
     */
    static final List<String> CUDA_HOST_LIBRARIES = List.of("libcuda.so.1", "libcudart.so.13", "libcupti.so.13",
            "libcublas.so.13", "libcublasLt.so.13", "libcusparse.so.12", "libcufft.so.12", "libcurand.so.10",
            "libcufile.so.0", "libnccl.so.2", "libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.9",
            "libcudnn_cnn.so.9", "libcudnn_adv.so.9");
    private static boolean loaded;
    private static volatile Device device;
    private static final String[] BF16_FLAGS = {"avx512_bf16", "amx_bf16"};
    /** Tests set it to pretend the CPU has (TRUE) or lacks (FALSE) native bf16; null reads the CPU. */
    static volatile Boolean nativeBf16Override;
    private static Boolean cpuBf16;

    private TorchRuntime() {
    }

    /**
     * Loads libtorch if needed (on the device {@value #DEVICE_CONF} asks for, when usable) and sets its intra-op
     * thread count.
     *
     * @param threads intra-op threads for this JVM (at least 1)
     */
    public static synchronized void init(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("torch threads must be >= 1 but was " + threads);
        }
        if (!loaded) {
            load(requestedDevice());
            loaded = true;
        }
        if (torch.get_num_threads() != threads) {
            torch.set_num_threads(threads);
        }
    }

    /** The device tensors are created on ({@code cpu} unless {@code cuda} was asked for and is usable). */
    public static synchronized Device device() {
        if (!loaded) {
            throw new IllegalStateException("libtorch is not loaded yet: call TorchRuntime.init first");
        }
        return device;
    }

    /** {@code t} on the engine's device: itself on the CPU, a copy on a GPU. */
    public static Tensor onDevice(Tensor t) {
        Device d = device;
        return d != null && d.is_cuda() ? t.to(d, t.scalar_type()) : t;
    }

    /**
     * Writes {@code n} floats into the 1-d tensor {@code dst}: through its data pointer in host memory, through a
     * host copy on a GPU (callers that write a parameter hold a {@code NoGradGuard}).
     */
    public static void write(Tensor dst, float[] src, int n) {
        if (!dst.is_cuda()) {
            dst.data_ptr_float().put(src, 0, n);
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor h = torch.empty(new long[]{n}, new DimnameListOptional(), new TensorOptions(torch.ScalarType.Float),
                    new MemoryFormatOptional());
            h.data_ptr_float().put(src, 0, n);
            dst.copy_(h);
        }
    }

    /** {@code t} in host memory (itself when it is there already), for reading its values. */
    public static Tensor onHost(Tensor t) {
        return t.is_cuda() ? t.cpu() : t;
    }

    /**
     * An uninitialised float tensor shaped like {@code x} for a CPU generator to fill (dropout masks): on the CPU
     * {@code empty_like(x)}; on a GPU a host tensor, since a CPU generator cannot draw into device memory (move
     * the result with {@link #onDevice}).
     */
    public static Tensor emptyForCpuGenerator(Tensor x) {
        if (!x.is_cuda()) {
            return torch.empty_like(x);
        }
        long[] shape = new long[(int) x.dim()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = x.size(i);
        }
        return torch.empty(shape, new DimnameListOptional(), new TensorOptions(torch.ScalarType.Float),
                new MemoryFormatOptional());
    }

    /** {@value #DEVICE_CONF}: the Spark conf of this JVM (driver or executor), else the system property. */
    static String requestedDevice() {
        String v = null;
        SparkEnv env = SparkEnv.get();
        if (env != null) {
            v = env.conf().get(DEVICE_CONF, null);
        }
        if (v == null) {
            v = System.getProperty(DEVICE_CONF, "cpu");
        }
        String d = v.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("cpu") && !d.equals("cuda")) {
            throw new IllegalArgumentException(DEVICE_CONF + " must be cpu or cuda but was " + v);
        }
        return d;
    }

    private static void load(String wanted) {
        ClassLoader cl = TorchRuntime.class.getClassLoader();
        String natives = checkNatives(cl);
        String whyNot = null;
        if (natives.equals(GPU_NATIVES)) {
            // ND4J first: its rule for JavaCPP's platform extension (-onednn) runs and its libraries load under
            // its own extension before this one reads it (both read the one JVM-wide property).
            io.sparkdl.backend.Nd4jBackend.init();
            boolean cpuBuild = cl.getResource(NATIVES.substring(1) + "libtorch_cpu.so") != null;
            // the CPU build, when there, serves cpu without probing (each probe dlopens a CUDA library)
            String missing = wanted.equals("cpu") && cpuBuild ? null : cudaMissing(cl, CUDA_HOST_LIBRARIES);
            Choice c = choose(wanted, cpuBuild, missing);
            natives = c.natives();
            whyNot = c.whyNot();
            String before = System.getProperty(JAVACPP_EXTENSION);
            String extension = extensionFor(natives, before);
            setExtension(extension);
            LOG.info("torch engine: libtorch's CUDA build is on the classpath{}; loading {} ({}={})",
                    cpuBuild ? " beside the CPU build" : "", natives, JAVACPP_EXTENSION, extension);
            cache(natives);
            try {
                Loader.load(torch.class);
            } finally {
                if (natives.equals(GPU_NATIVES)) {
                    // back to ND4J's extension: libtorch's libraries are loaded, and JavaCPP keeps them per name
                    setExtension(before);
                }
            }
        } else {
            if (wanted.equals("cuda")) {
                whyNot = cudaMissing(cl, CUDA_HOST_LIBRARIES);
            }
            cache(natives);
            Loader.load(torch.class);
        }
        if (wanted.equals("cuda") && whyNot == null && !torch.cuda_is_available()) {
            whyNot = "torch.cuda_is_available() is false (no GPU or driver visible to the CUDA build)";
        }
        if (whyNot != null) {
            LOG.warn("torch engine: {}=cuda but {}; running on the CPU", DEVICE_CONF, whyNot);
        }
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
        device = wanted.equals("cuda") && whyNot == null ? new Device(torch.DeviceType.CUDA, (byte) 0)
                : new Device(torch.DeviceType.CPU);
        LOG.info("torch engine: libtorch loaded ({} natives) on {}, OpenBLAS capped at 1 thread", natives,
                device.str().getString());
    }

    /** The system property JavaCPP reads its platform extension from (once, unless told to re-read it). */
    static final String JAVACPP_EXTENSION = "org.bytedeco.javacpp.platform.extension";

    /** Sets (null: clears) JavaCPP's platform extension and makes JavaCPP re-read its platform properties. */
    private static void setExtension(String extension) {
        if (!java.util.Objects.equals(System.getProperty(JAVACPP_EXTENSION), extension)) {
            if (extension == null) {
                System.clearProperty(JAVACPP_EXTENSION);
            } else {
                System.setProperty(JAVACPP_EXTENSION, extension);
            }
        }
        Loader.loadProperties(true);
    }

    /**
     * Which libtorch build to load, and why not on a GPU (null: nothing against it).
     *
     * @param natives {@link #GPU_NATIVES} or {@link #NATIVES}
     * @param whyNot for {@code cuda}: why it runs on the CPU instead, or null
     */
    record Choice(String natives, String whyNot) {
    }

    /**
     * The build to load when libtorch's CUDA build is on the classpath (mvn -Pcuda ships the CPU build too).
     * Without the host's CUDA libraries the CUDA build does not load at all (its libtorch_cpu.so links libcudart
     * and libcupti, its libtorch.so links libtorch_cuda.so), so then the CPU build is loaded, with one line when
     * {@code cuda} was asked for; with neither usable it is refused with one line. With the libraries the CUDA
     * build is loaded when {@code cuda} was asked for, and the CPU build (when there) otherwise.
     *
     * @param wanted {@code cpu} or {@code cuda}
     * @param cpuBuild whether libtorch's CPU build (linux-x86_64/) is on the classpath too
     * @param cudaMissing {@link #cudaMissing} of the host: what it lacks, or null
     */
    static Choice choose(String wanted, boolean cpuBuild, String cudaMissing) {
        if (cudaMissing == null) {
            return wanted.equals("cuda") || !cpuBuild ? new Choice(GPU_NATIVES, null) : new Choice(NATIVES, null);
        }
        if (!cpuBuild) {
            throw new IllegalStateException("torch engine: libtorch's CUDA build (mvn -Pcuda) is on the "
                    + "classpath but " + cudaMissing + "; it cannot run here, not even on the CPU, and libtorch's CPU "
                    + "build is not on the classpath: add pytorch-" + pytorchVersion() + "-linux-x86_64.jar (mvn "
                    + "-Pcuda puts it beside the CUDA jars, in lib/torch/ of the distribution)");
        }
        return new Choice(NATIVES, wanted.equals("cuda") ? cudaMissing : null);
    }

    /**
     * The JavaCPP platform extension under which the presets load {@code natives} when both builds are on the
     * classpath (read from JavaCPP 1.5.13 and the presets, checked by TorchCudaFallbackTest). The presets'
     * {@code -gpu} platform entries (preloading c10_cuda and torch_cuda) apply only when the extension ends with
     * {@code -gpu} or none is set, and their {@code init} adds the CUDA libraries to the preloads only when the
     * first extension of the list ends with {@code -gpu}; the libraries are then looked up in linux-x86_64-gpu/
     * first. Any other extension searches only linux-x86_64/ (and {@code <platform><extension>/}). So: exactly
     * {@code -gpu} for the CUDA build (set only while libtorch loads); for the CPU build, what is set without a
     * {@code -gpu} (ND4J's {@code -onednn}), and empty instead of unset.
     */
    static String extensionFor(String natives, String current) {
        if (natives.equals(GPU_NATIVES)) {
            return "-gpu";
        }
        String sep = java.io.File.pathSeparator;
        List<String> parts = new ArrayList<>();
        if (current != null) {
            for (String e : current.split(java.util.regex.Pattern.quote(sep))) {
                if (!e.isEmpty() && !e.endsWith("-gpu")) {
                    parts.add(e);
                }
            }
        }
        return String.join(sep, parts);
    }

    /**
     * Why the CUDA build cannot run on a GPU here, or null: its natives are not on the classpath of
     * {@code loader}, or the host lacks some of {@code hostLibraries} (each is opened with dlopen, globally;
     * the ones found stay loaded).
     */
    static String cudaMissing(ClassLoader loader, List<String> hostLibraries) {
        if (loader.getResource(GPU_NATIVES.substring(1) + "libtorch_cuda.so") == null) {
            return "the CUDA build of libtorch is not on the classpath (org.bytedeco:pytorch:" + pytorchVersion()
                    + ":linux-x86_64-gpu and org.bytedeco:cuda: build with mvn -Pcuda)";
        }
        List<String> missing = new ArrayList<>();
        for (String lib : hostLibraries) {
            try {
                Loader.loadGlobal(lib);
            } catch (Throwable e) {
                missing.add(lib);
            }
        }
        if (!missing.isEmpty()) {
            return "the host's CUDA libraries are missing: " + String.join(", ", missing) + " (LD_LIBRARY_PATH="
                    + System.getenv("LD_LIBRARY_PATH") + "; they come from a CUDA 13 toolkit with cuDNN 9 and NCCL, "
                    + "not from Maven Central)";
        }
        return null;
    }

    /**
     * The natives folder on the classpath of {@code loader}: libtorch's CUDA build (linux-x86_64-gpu/, from
     * mvn -Pcuda) or its CPU build (linux-x86_64/); fails with one line naming the jar when neither is there.
     */
    static String checkNatives(ClassLoader loader) {
        if (loader.getResource(GPU_NATIVES.substring(1) + "libtorch_cpu.so") != null) {
            return GPU_NATIVES;
        }
        if (loader.getResource(NATIVES.substring(1) + "libtorch_cpu.so") != null) {
            return NATIVES;
        }
        String v = pytorchVersion();
        throw new IllegalStateException("the torch engine needs libtorch's natives, which are not in the "
                + "application jar: add pytorch-" + v + "-linux-x86_64.jar (lib/torch/ of the spark-dl "
                + "distribution, or org.bytedeco:pytorch:" + v + ":linux-x86_64 from Maven Central) with "
                + "spark-submit --jars; bin/spark-dl adds it itself (natives " + NATIVES + " not found)");
    }

    private static void cache(String natives) {
        try {
            Loader.cacheResources(natives);
        } catch (Exception e) {
            throw new IllegalStateException("could not unpack the libtorch natives into the JavaCPP cache ("
                    + System.getProperty("user.home") + "/.javacpp/cache): " + e.getMessage(), e);
        }
    }

    /** The org.bytedeco:pytorch version on the classpath (its Maven metadata, kept in the app jar). */
    static String pytorchVersion() {
        try (InputStream in = TorchRuntime.class.getResourceAsStream(
                "/META-INF/maven/org.bytedeco/pytorch/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "VERSION");
            }
        } catch (java.io.IOException e) {
            // falls through to the placeholder
        }
        return "VERSION";
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
