package io.sparkdl.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Nd4jBackendTest {
    @Test
    void cpuBackendStartsWithOneDnnHelpers() {
        Nd4jBackend.BackendInfo info = Nd4jBackend.init();
        assertEquals("CPU", info.backend());
        assertTrue(info.oneDnnActive(), "oneDNN layer helpers must be active: " + info);
        assertEquals("false", System.getProperty(Nd4jBackend.HELPERS_DISABLE));
        assertTrue(info.toString().contains("oneDNN=active"));
        assertEquals("linux-x86_64-onednn", info.nativeBuild(), "the oneDNN build of libnd4j must be loaded");
    }

    @Test
    void gpusOutsideTheCudaBuildsRangeAreRefusedByName() {
        assertNull(Nd4jBackend.unsupportedGpu("A100", 8, 0));
        assertNull(Nd4jBackend.unsupportedGpu("K80", 3, 7));
        String h100 = Nd4jBackend.unsupportedGpu("NVIDIA H100", 9, 0);
        assertTrue(h100.contains("NVIDIA H100") && h100.contains("9.0") && h100.contains("BACKEND_PRIORITY_GPU=0"), h100);
        assertTrue(Nd4jBackend.unsupportedGpu("old", 3, 0).contains("3.0"));
    }
}
