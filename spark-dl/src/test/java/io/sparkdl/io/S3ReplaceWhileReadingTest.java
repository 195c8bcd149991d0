package io.sparkdl.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.testkit.S3Store;
import io.sparkdl.testkit.SparkTest;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small file replaced by one PUT while a reader without a lock reads it (the registry's state.json and
 * CHAMPION on S3): {@link HadoopFiles#readString} returns the old or the new content whole, never an error.
 * The reads with a single attempt show that the race happens in this test.
 */
class S3ReplaceWhileReadingTest {
    @RegisterExtension
    static final S3Store STORE = new S3Store();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aFileReplacedWhileItIsReadIsReadAgainWhole() throws Exception {
        Configuration hc = SparkTest.spark().sparkContext().hadoopConfiguration();
        String path = STORE.uri("registry/state.json");
        HadoopFiles.writeStringAtomically(path, state(0), hc);
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> writerErrors = Collections.synchronizedList(new ArrayList<>());
        Thread writer = new Thread(() -> {
            try {
                for (int v = 1; !stop.get(); v++) {
                    HadoopFiles.writeStringAtomically(path, state(v), hc);
                    Thread.sleep(5);
                }
            } catch (RuntimeException | InterruptedException e) {
                writerErrors.add(e);
            }
        }, "state writer");
        writer.start();
        int singleFailures = 0;
        int seen = 0;
        int last = -1;
        try {
            for (int i = 0; i < 150; i++) {
                try {
                    HadoopFiles.readString(new Path(path), hc, 1);
                } catch (java.io.UncheckedIOException e) {
                    singleFailures++;
                }
            }
            for (int i = 0; i < 150; i++) {
                int v = JSON.readTree(HadoopFiles.readString(path, hc)).get("v").asInt();
                assertTrue(v >= last, "versions read in order: " + v + " after " + last);
                seen += v > last ? 1 : 0;
                last = v;
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        System.out.println("reads with one attempt that failed: " + singleFailures + " of 150; versions seen " + seen);
        assertEquals(List.of(), writerErrors);
        assertTrue(singleFailures > 0, "no read with one attempt met a replacement: the test shows nothing");
        assertTrue(seen > 10, "the reader saw the file change " + seen + " times");
    }

    /** A state of a few hundred bytes whose length varies with the version. */
    private static String state(int v) {
        return "{\"v\":" + v + ",\"pad\":\"" + "x".repeat(100 + v % 300) + "\"}";
    }
}
