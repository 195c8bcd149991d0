package io.sparkdl.engine.torch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TorchRuntime's checks that need no GPU: the natives' message, the device conf, the CUDA pre-checks. */
class TorchRuntimeTest {
    @Test
    void missingNativesNameTheJarAndHowToAddIt() {
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TorchRuntime.checkNatives(empty));
        String v = TorchRuntime.pytorchVersion();
        assertFalse(v.equals("VERSION"), "the presets' pom.properties is on the classpath: " + v);
        assertTrue(e.getMessage().contains("pytorch-" + v + "-linux-x86_64.jar"), e.getMessage());
        assertTrue(e.getMessage().contains("org.bytedeco:pytorch:" + v + ":linux-x86_64"), e.getMessage());
        assertTrue(e.getMessage().contains("spark-submit --jars"), e.getMessage());
        assertEquals(TorchRuntime.NATIVES, TorchRuntime.checkNatives(TorchRuntime.class.getClassLoader()));
    }

    @Test
    void deviceConfIsCpuOrCuda() {
        String before = System.getProperty(TorchRuntime.DEVICE_CONF);
        try {
            System.clearProperty(TorchRuntime.DEVICE_CONF);
            assertEquals("cpu", TorchRuntime.requestedDevice());
            System.setProperty(TorchRuntime.DEVICE_CONF, " CUDA ");
            assertEquals("cuda", TorchRuntime.requestedDevice());
            System.setProperty(TorchRuntime.DEVICE_CONF, "gpu");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, TorchRuntime::requestedDevice);
            assertTrue(e.getMessage().contains(TorchRuntime.DEVICE_CONF) && e.getMessage().contains("gpu"),
                    e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(TorchRuntime.DEVICE_CONF);
            } else {
                System.setProperty(TorchRuntime.DEVICE_CONF, before);
            }
        }
    }

    @Test
    void cudaWithoutTheGpuNativesSaysWhichBuild() {
        String why = TorchRuntime.cudaMissing(new URLClassLoader(new URL[0], null), TorchRuntime.CUDA_HOST_LIBRARIES);
        assertTrue(why.contains("linux-x86_64-gpu") && why.contains("-Pcuda"), why);
    }

    @Test
    void cudaWithTheGpuNativesNamesTheMissingHostLibraries(@TempDir Path dir) throws Exception {
        Path natives = Files.createDirectories(dir.resolve(TorchRuntime.GPU_NATIVES.substring(1)));
        Files.createFile(natives.resolve("libtorch_cuda.so"));
        Files.createFile(natives.resolve("libtorch_cpu.so"));
        ClassLoader withGpu = new URLClassLoader(new URL[]{dir.toUri().toURL()}, null);
        assertEquals(TorchRuntime.GPU_NATIVES, TorchRuntime.checkNatives(withGpu), "the CUDA build serves the CPU too");
        String why = TorchRuntime.cudaMissing(withGpu, List.of("libc.so.6", "libsparkdl-absent.so.7"));
        assertTrue(why.contains("missing: libsparkdl-absent.so.7 ("), why);
        assertFalse(why.contains("libc.so.6"), why);
        assertNull(TorchRuntime.cudaMissing(withGpu, List.of("libc.so.6", "libm.so.6")));
    }

    @Test
    void cudaBuildIsChosenOnlyForCudaOnAHostWithTheLibraries() {
        String missing = "the host's CUDA libraries are missing: libcupti.so.13 (LD_LIBRARY_PATH=null; ...)";
        // the -Pcuda build: both libtorch builds on the classpath
        assertEquals(new TorchRuntime.Choice(TorchRuntime.GPU_NATIVES, null), TorchRuntime.choose("cuda", true, null));
        assertEquals(new TorchRuntime.Choice(TorchRuntime.NATIVES, null), TorchRuntime.choose("cpu", true, null));
        assertEquals(new TorchRuntime.Choice(TorchRuntime.NATIVES, missing), TorchRuntime.choose("cuda", true, missing),
                "without the libraries: the CPU build, and the line says why");
        assertEquals(new TorchRuntime.Choice(TorchRuntime.NATIVES, null), TorchRuntime.choose("cpu", true, missing));
        // the CUDA build alone: it serves the CPU too when the libraries are there, and is refused otherwise
        assertEquals(new TorchRuntime.Choice(TorchRuntime.GPU_NATIVES, null), TorchRuntime.choose("cpu", false, null));
        for (String wanted : new String[]{"cpu", "cuda"}) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> TorchRuntime.choose(wanted, false, missing));
            assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("-linux-x86_64.jar")
                    && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void platformExtensionPicksTheBuildAndKeepsNd4jsOwn() {
        String sep = java.io.File.pathSeparator;
        for (String current : new String[]{null, "", "-onednn", "-cudnn", "-onednn" + sep + "-gpu"}) {
            assertEquals("-gpu", TorchRuntime.extensionFor(TorchRuntime.GPU_NATIVES, current),
                    "the presets' init reads the first extension of the list");
        }
        assertEquals("-onednn", TorchRuntime.extensionFor(TorchRuntime.NATIVES, "-onednn"));
        assertEquals("-cudnn", TorchRuntime.extensionFor(TorchRuntime.NATIVES, "-cudnn"));
        assertEquals("-onednn", TorchRuntime.extensionFor(TorchRuntime.NATIVES, "-onednn" + sep + "-gpu"));
        assertEquals("", TorchRuntime.extensionFor(TorchRuntime.NATIVES, null),
                "unset would let JavaCPP search linux-x86_64-gpu/ first");
        assertEquals("", TorchRuntime.extensionFor(TorchRuntime.NATIVES, "-gpu"));
    }
}
