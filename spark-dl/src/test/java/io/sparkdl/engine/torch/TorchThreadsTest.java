package io.sparkdl.engine.torch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The libtorch threads per task: the task's cpus on a cluster, the driver's value in local mode. */
class TorchThreadsTest {
    @Test
    void clusterTaskGetsItsCpus() {
        // an 8-core executor with spark.task.cpus=2 runs 4 tasks at once: 2 threads each, whatever the driver saw
        assertEquals(2, TorchThreads.choose(16, 2, false, 8));
        assertEquals(1, TorchThreads.choose(4, 1, false, 8));
        // never more than the cores this JVM sees
        assertEquals(4, TorchThreads.choose(1, 8, false, 4));
    }

    @Test
    void localModeAndTheDriverKeepTheDriversValue() {
        assertEquals(3, TorchThreads.choose(3, 1, true, 8));
        assertEquals(3, TorchThreads.choose(3, 0, false, 8));
        assertEquals(2, TorchThreads.choose(6, 0, true, 2));
        assertThrows(IllegalArgumentException.class, () -> TorchThreads.choose(0, 1, false, 8));
    }

    @Test
    void outsideSparkTheDriversValueCappedAtTheCores() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.min(3, cores), TorchThreads.forThisJvm(3));
    }
}
