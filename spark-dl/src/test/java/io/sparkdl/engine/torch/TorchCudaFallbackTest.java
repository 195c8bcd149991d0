package io.sparkdl.engine.torch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The -Pcuda build's classpath (libtorch's CUDA build beside its CPU build) in a JVM of its own, with
 * {@code spark.sparkdl.torch.device=cuda}: on a host without the CUDA libraries the torch engine logs one line and
 * trains on the CPU build; on a host with them it loads the CUDA build. Needs the CUDA build's jar
 * (org.bytedeco:pytorch:2.10.0-1.5.13:linux-x86_64-gpu, 458 MB) in the local Maven repository beside the CPU one
 * (mvn -Pcuda puts it there); skipped without it.
 */
class TorchCudaFallbackTest {
    private static final String MAIN = CudaFallbackMain.class.getName();

    @ParameterizedTest(name = "JavaCPP platform extension as the build sets it: {0}")
    @ValueSource(booleans = {true, false})
    void cudaBuildOnTheClasspathFallsBackToTheCpuBuildWithoutCudaLibraries(boolean extensionSet) throws Exception {
        Path gpuJar = gpuJar();
        Child c = runChild(gpuJar, extensionSet, true);
        assertEquals(0, c.exit(), "the child JVM failed:\n" + c.log());
        String log = c.log();
        String jnitorch = line(log, "fallback-main: jnitorch=");
        String device = line(log, "fallback-main: device=");
        String[] loss = line(log, "fallback-main: loss ").split(" -> ");
        assertTrue(Double.parseDouble(loss[1]) < 0.5 * Double.parseDouble(loss[0]), "it trained: " + log);
        String missing = TorchRuntime.cudaMissing(gpuLoader(gpuJar), TorchRuntime.CUDA_HOST_LIBRARIES);
        if (missing != null) {
            // this host lacks the CUDA libraries: one line, then the CPU build, and nothing of the CUDA build
            assertTrue(jnitorch.contains("/linux-x86_64/"), "the CPU build was loaded:\n" + log);
            assertEquals("cpu", device, log);
            List<String> warnings = log.lines().filter(l -> l.contains(TorchRuntime.DEVICE_CONF + "=cuda but"))
                    .toList();
            assertEquals(1, warnings.size(), "one line says why:\n" + log);
            String w = warnings.get(0);
            assertTrue(w.contains("the host's CUDA libraries are missing: ") && w.contains("running on the CPU"), w);
            String loaded = line(log, "fallback-main: loaded=");
            assertTrue(loaded.contains("/linux-x86_64/libtorch_cpu.so") && !loaded.contains("linux-x86_64-gpu"),
                    "no library of the CUDA build was loaded: " + loaded);
        } else {
            // a host with the CUDA libraries: the CUDA build (on the GPU when torch sees one)
            assertTrue(jnitorch.contains("/linux-x86_64-gpu/"), "the CUDA build was loaded:\n" + log);
        }
    }

    @Test
    void cudaBuildAloneIsRefusedWithOneLineWithoutCudaLibraries() throws Exception {
        Path gpuJar = gpuJar();
        assumeTrue(TorchRuntime.cudaMissing(gpuLoader(gpuJar), TorchRuntime.CUDA_HOST_LIBRARIES) != null,
                "this host has the CUDA libraries, so the CUDA build alone loads here");
        Child c = runChild(gpuJar, true, false);
        assertTrue(c.exit() != 0, "refused:\n" + c.log());
        assertTrue(c.log().lines().anyMatch(l -> l.contains("libtorch's CUDA build (mvn -Pcuda) is on the classpath but "
                + "the host's CUDA libraries are missing: ") && l.contains("-linux-x86_64.jar")), c.log());
        assertTrue(c.log().lines().noneMatch(l -> l.startsWith("fallback-main: ")), c.log());
    }

    /**
     * What the platform extensions TorchRuntime sets make JavaCPP 1.5.13 and the presets do with both builds on
     * the classpath, checked without loading anything (the CUDA build cannot load on a host without a GPU's
     * libraries): with {@code -gpu} every libtorch library is taken from linux-x86_64-gpu/ first, c10_cuda and
     * torch_cuda and the host's CUDA libraries are preloaded; with {@code -onednn} or an empty one only
     * linux-x86_64/ is searched. {@code -onednn:-gpu} (a list) would search linux-x86_64-gpu/ first but leave
     * out the CUDA libraries (the presets' init reads the first extension only): TorchRuntime sets exactly
     * {@code -gpu}.
     */
    @ParameterizedTest(name = "platform extension \"{0}\"")
    @ValueSource(strings = {"-gpu", "-onednn:-gpu", "-onednn", ""})
    void theExtensionSelectsTheFolder(String extension) throws Exception {
        Path gpuJar = gpuJar();
        List<String> cmd = javaCommand(gpuJar, true, List.of("-D" + TorchRuntime.JAVACPP_EXTENSION + "=" + extension));
        cmd.add("find");
        Child c = run(cmd);
        assertEquals(0, c.exit(), c.log());
        List<String> torchLibs = c.log().lines()
                .filter(l -> l.matches("find: (gomp@\\.1|c10|torch|torch_cpu|jnitorch|c10_cuda|torch_cuda)=.*")).toList();
        List<String> preload = List.of(line(c.log(), "find: preload=").split(","));
        if (extension.endsWith("-gpu")) {
            assertEquals(7, torchLibs.size(), c.log());
            for (String f : torchLibs) {
                assertTrue(f.contains("=org/bytedeco/pytorch/linux-x86_64-gpu"), "the CUDA build first: " + f);
            }
            assertTrue(preload.contains("c10_cuda") && preload.contains("torch_cuda"), c.log());
            assertEquals(extension.equals("-gpu"), preload.contains("cudart@.13") && preload.contains("cudnn@.9"),
                    c.log());
        } else {
            assertEquals(5, torchLibs.size(), c.log());
            for (String f : torchLibs) {
                assertTrue(f.contains("=org/bytedeco/pytorch/linux-x86_64") && !f.contains("linux-x86_64-gpu"),
                        "the CPU build only: " + f);
            }
            assertTrue(preload.stream().noneMatch(l -> l.contains("cuda") || l.startsWith("cudart")), c.log());
        }
    }

    private record Child(int exit, String log) {
    }

    /** libtorch's CUDA build in the local Maven repository, beside the CPU build this classpath has. */
    private static Path gpuJar() {
        URL cpu = TorchRuntime.class.getClassLoader().getResource(TorchRuntime.NATIVES.substring(1) + "libtorch_cpu.so");
        assertTrue(cpu != null && cpu.getProtocol().equals("jar"), "the CPU natives come from a jar: " + cpu);
        String cpuJar = cpu.getPath().substring("file:".length(), cpu.getPath().indexOf("!/"));
        Path gpuJar = Path.of(cpuJar.replace("-linux-x86_64.jar", "-linux-x86_64-gpu.jar"));
        assumeTrue(Files.isRegularFile(gpuJar), "libtorch's CUDA build is not in the local Maven repository ("
                + gpuJar + "): build once with mvn -Pcuda, or mvn dependency:get "
                + "-Dartifact=org.bytedeco:pytorch:2.10.0-1.5.13:jar:linux-x86_64-gpu");
        return gpuJar;
    }

    /**
     * {@link CudaFallbackMain} in a JVM of its own with {@code spark.sparkdl.torch.device=cuda}, the CUDA build and
     * the CUDA preset's JNI wrappers (as -Pcuda adds them) on the classpath, then this test's classpath, with or
     * without the CPU build's jar and with or without this JVM's JavaCPP settings.
     */
    private static Child runChild(Path gpuJar, boolean extensionSet, boolean withCpuJar) throws Exception {
        List<String> cmd = javaCommand(gpuJar, withCpuJar, extensionSet ? null : List.of());
        return run(cmd);
    }

    /**
     * The command line of a JVM running {@link CudaFallbackMain}: the CUDA build and the CUDA preset's jars in
     * front of this test's classpath (with or without the CPU build's jar), this JVM's module opens, and
     * {@code javacpp} as JavaCPP's settings (null: this JVM's, from surefire's argLine).
     */
    private static List<String> javaCommand(Path gpuJar, boolean withCpuJar, List<String> javacpp) {
        List<String> cp = new ArrayList<>();
        cp.add(gpuJar.toString());
        Path cudaDir = gpuJar.getParent().getParent().getParent().resolve("cuda/13.1-9.19-1.5.13");
        for (String j : new String[]{"cuda-13.1-9.19-1.5.13.jar", "cuda-13.1-9.19-1.5.13-linux-x86_64.jar"}) {
            if (Files.isRegularFile(cudaDir.resolve(j))) {
                cp.add(cudaDir.resolve(j).toString());
            }
        }
        String cpuJarName = gpuJar.getFileName().toString().replace("-linux-x86_64-gpu.jar", "-linux-x86_64.jar");
        String testCp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String e : testCp.split(File.pathSeparator)) {
            if (withCpuJar || !e.endsWith(File.separator + cpuJarName)) {
                cp.add(e);
            }
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // the module opens and JavaCPP's settings of this JVM (surefire's argLine), as a Spark executor has them
            if (a.startsWith("--add-opens") || a.startsWith("--add-exports")
                    || (javacpp == null && a.startsWith("-Dorg.bytedeco."))) {
                cmd.add(a);
            }
        }
        if (javacpp != null) {
            cmd.addAll(javacpp);
        }
        cmd.add("-D" + TorchRuntime.DEVICE_CONF + "=cuda");
        cmd.add("-Dorg.apache.logging.log4j.level=INFO"); // log4j2's default configuration, to the console
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, cp));
        cmd.add(MAIN);
        return cmd;
    }

    private static Child run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the child JVM finished");
        String log = new String(out, StandardCharsets.UTF_8);
        int cpAt = cmd.indexOf("-cp");
        System.out.println("the child JVM (" + String.join(" ", cmd.subList(0, cpAt)) + " ... "
                + String.join(" ", cmd.subList(cpAt + 2, cmd.size())) + "):\n" + log);
        return new Child(p.exitValue(), log);
    }

    private static ClassLoader gpuLoader(Path gpuJar) throws Exception {
        return new java.net.URLClassLoader(new URL[]{gpuJar.toUri().toURL()}, null);
    }

    private static String line(String log, String prefix) {
        return log.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).findFirst()
                .orElseThrow(() -> new AssertionError("no line " + prefix + " in:\n" + log));
    }
}
