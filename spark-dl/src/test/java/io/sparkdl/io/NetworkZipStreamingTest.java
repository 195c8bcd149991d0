package io.sparkdl.io;

import io.sparkdl.nn.NetworkSpec;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.util.Progressable;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A network is streamed to the file system's output stream as it is serialized (what HDFS and S3A get from
 * {@code write().save("hdfs://...")}), never built as one byte array first: the stream sees writes of at most
 * the zip's 64 KiB buffer, and writing allocates far less heap than the file holds.
 */
class NetworkZipStreamingTest {
    @TempDir
    java.nio.file.Path tmp;

    /** The local file system under the scheme {@code recording:}, recording the writes its streams receive. */
    public static final class RecordingFileSystem extends RawLocalFileSystem {
        static long largestWrite;
        static long writes;
        static long bytes;

        @Override
        public URI getUri() {
            return URI.create("recording:///");
        }

        @Override
        public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication,
                                         long blockSize, Progressable progress) throws IOException {
            // RawLocalFileSystem's other create methods come here
            FSDataOutputStream inner = super.create(f, overwrite, bufferSize, replication, blockSize, progress);
            return new FSDataOutputStream(new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    record(1);
                    inner.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    record(len);
                    inner.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    inner.close();
                }
            }, null);
        }

        private static synchronized void record(int len) {
            largestWrite = Math.max(largestWrite, len);
            writes++;
            bytes += len;
        }
    }

    @Test
    void aNetworkIsStreamedToTheFileSystemNotBufferedWhole() {
        Configuration conf = new Configuration();
        conf.set("fs.recording.impl", RecordingFileSystem.class.getName());
        conf.setBoolean("fs.recording.impl.disable.cache", true);
        // LeNet for 10 classes: about 1.7 MB of float parameters
        MultiLayerNetwork net = new MultiLayerNetwork(NetworkSpec.parse("lenet").toConfiguration(28, 28, 1, 10,
                new NetworkSpec.Settings("sgd", 1e-2, 0.9, 0, 1)));
        net.init();
        String path = "recording://" + tmp.toAbsolutePath() + "/network.zip";
        NetworkZip.write(net, path, conf); // warm-up: class loading and JIT allocate on the first call

        RecordingFileSystem.largestWrite = 0;
        RecordingFileSystem.writes = 0;
        RecordingFileSystem.bytes = 0;
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        NetworkZip.write(net, path, conf);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        long paramBytes = 4 * net.params().length();
        long fileBytes = tmp.resolve("network.zip").toFile().length();
        assertTrue(paramBytes > 1_000_000, "a model worth measuring: " + paramBytes + " bytes of parameters");
        assertTrue(RecordingFileSystem.bytes == fileBytes && fileBytes > paramBytes / 2,
                RecordingFileSystem.bytes + " bytes written for a file of " + fileBytes);
        assertTrue(RecordingFileSystem.largestWrite <= 1 << 16, "largest single write to the file system stream: "
                + RecordingFileSystem.largestWrite + " bytes (a whole zip in a byte array would be one write)");
        assertTrue(RecordingFileSystem.writes >= fileBytes / (1 << 16), RecordingFileSystem.writes + " writes");
        assertTrue(allocated < fileBytes / 4, "writing allocated " + allocated + " bytes of heap for a file of "
                + fileBytes + ": the zip is not built in memory");
        // and it reads back as written
        assertArrayEquals(net.params().toFloatVector(), NetworkZip.read(path, conf).params().toFloatVector(), 0f);
        assertTrue(Files.exists(tmp.resolve("network.zip")));
    }
}
