package io.sparkdl.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

/**
 * Small files through Hadoop {@link FileSystem}, so models save to and load from HDFS, S3A, ABFS or
 * local disk alike. Binary state (DL4J's zip) is written to a local temp file first and then copied.
 */
public final class HadoopFiles {
    private HadoopFiles() {
    }

    /**
     * Writes a small text file. Local files are written directly: Hadoop's local file system adds a hidden
     * {@code .NAME.crc} beside each file, which a rename then leaves behind.
     */
    public static void writeString(String path, String text, Configuration conf) {
        Path p = new Path(path);
        try {
            if (isLocal(p)) {
                java.nio.file.Path f = localPath(p);
                Files.createDirectories(f.getParent());
                Files.deleteIfExists(f.resolveSibling("." + f.getFileName() + ".crc"));   // would no longer match
                Files.write(f, text.getBytes(StandardCharsets.UTF_8));
                return;
            }
            try (FSDataOutputStream out = p.getFileSystem(conf).create(p, true)) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + path, e);
        }
    }

    /** Object stores, where a rename is a copy and one PUT of one object is atomic. */
    public static boolean isObjectStore(Path p) {
        String scheme = p.toUri().getScheme();
        return scheme != null && java.util.Set.of("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss",
                "cosn", "obs").contains(scheme);
    }

    private static boolean isLocal(Path p) {
        String scheme = p.toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    private static java.nio.file.Path localPath(Path p) {
        return new File(p.toUri().getPath()).toPath().toAbsolutePath();
    }
    /** The most a small file (JSON data, markers) may hold: a corrupt or hostile one cannot exhaust memory. */
    public static final int MAX_STRING_BYTES = 64 << 20;

    /**
     * How many times at most a read of a small file on a shared store is begun again from the open: see
     * {@link #readString}.
     */
    static final int SHARED_STORE_READ_ATTEMPTS = 8;

    /**
     * Reads a small text file. On a shared store a file replaced while it is read can fail the read: on S3,
     * S3A takes the object's ETag when it opens the file and fetches the data on the first read, asking for
     * that ETag (S3 answers 412 once the object has been replaced by another PUT, which S3A reports as a
     * changed file; some S3 servers answer 500); on HDFS the replaced file's blocks are deleted under the
     * reader. Such a read is begun again from the open, after a pause that grows with each attempt (up to
     * {@link #SHARED_STORE_READ_ATTEMPTS} attempts, 1.4 s of pauses in all), and then returns the new content
     * whole: a reader without the registry's lock sees the old or the new state, never an error. A missing file
     * is not retried, nor a local one (an open local file keeps its content when it is renamed over).
     */
    public static String readString(String path, Configuration conf) {
        Path p = new Path(path);
        return readString(p, conf, isLocal(p) ? 1 : SHARED_STORE_READ_ATTEMPTS);
    }

    /** {@link #readString(String, Configuration)} with at most {@code attempts} attempts. */
    static String readString(Path p, Configuration conf, int attempts) {
        byte[] b = null;
        for (int attempt = 1; b == null; attempt++) {
            try (FSDataInputStream in = p.getFileSystem(conf).open(p)) {
                b = in.readNBytes(MAX_STRING_BYTES + 1);
            } catch (java.io.FileNotFoundException e) {
                throw new UncheckedIOException("Cannot read " + p + ": no such file", e);
            } catch (IOException e) {
                if (attempt >= attempts) {
                    throw new UncheckedIOException("Cannot read " + p
                            + (attempts > 1 ? " (" + attempts + " attempts)" : ""), e);
                }
                org.slf4j.LoggerFactory.getLogger(HadoopFiles.class).info(
                        "Reading {} failed ({}); reading it again (attempt {} of {}): it may have been replaced "
                                + "while it was read", p, e.toString(), attempt + 1, attempts);
                try {
                    Thread.sleep(50L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new UncheckedIOException("Cannot read " + p + ": interrupted", e);
                }
            }
        }
        if (b.length > MAX_STRING_BYTES) {
            throw new ModelFileException(p.toString(), "larger than " + MAX_STRING_BYTES + " bytes");
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Replaces {@code path} atomically: the text goes to a temporary file beside it, which is then renamed
     * over it (rename(2) on local disks, an atomic rename on HDFS); on object stores it is one PUT. Readers
     * see the old or the new content, never none.
     */
    public static void writeStringAtomically(String path, String text, Configuration conf) {
        if (isObjectStore(new Path(path))) {
            // one PUT of one object is atomic on S3 and its peers; a rename there is a copy plus a delete,
            // during which the object is missing
            writeString(path, text, conf);
            return;
        }
        String tmp = path + ".tmp-" + java.util.UUID.randomUUID();
        writeString(tmp, text, conf);
        replace(tmp, path, conf);
    }

    /** Renames {@code src} onto {@code dst} atomically, replacing a file or an empty folder there. */
    public static void replace(String src, String dst, Configuration conf) {
        Path s = new Path(src);
        Path d = new Path(dst);
        try {
            String scheme = s.toUri().getScheme();
            if (scheme == null || scheme.equals("file")) {
                Files.move(new File(s.toUri().getPath()).toPath(), new File(d.toUri().getPath()).toPath(),
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } else {
                org.apache.hadoop.fs.FileContext.getFileContext(s.toUri(), conf)
                        .rename(s, d, org.apache.hadoop.fs.Options.Rename.OVERWRITE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot rename " + src + " to " + dst, e);
        }
    }

    public static void mkdirs(String path, Configuration conf) {
        Path p = new Path(path);
        try {
            p.getFileSystem(conf).mkdirs(p);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + path, e);
        }
    }

    /** Names of the entries directly under {@code path} (empty when it does not exist). */
    public static java.util.List<String> list(String path, Configuration conf) {
        Path p = new Path(path);
        try {
            org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) {
                return java.util.List.of();
            }
            java.util.List<String> out = new java.util.ArrayList<>();
            for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(p)) {
                out.add(st.getPath().getName());
            }
            java.util.Collections.sort(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + path, e);
        }
    }

    public static boolean exists(String path, Configuration conf) {
        Path p = new Path(path);
        try {
            return p.getFileSystem(conf).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot check " + path, e);
        }
    }

    public static void deleteRecursively(String path, Configuration conf) {
        Path p = new Path(path);
        try {
            p.getFileSystem(conf).delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete " + path, e);
        }
    }

    /**
     * Writes numeric arrays in a small binary format (magic, count, then each array's length and values as
     * big-endian doubles): training checkpoints' weights, written where no SparkSession need be at hand. Release
     * 0.1 also kept stage data in it ({@link LegacyModelData}); stages now write Parquet ({@link ModelData}).
     */
    public static void writeArrays(String path, Configuration conf, double[]... arrays) {
        Path p = new Path(path);
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(
                new java.io.BufferedOutputStream(p.getFileSystem(conf).create(p, true), 1 << 16))) {
            out.writeInt(0x53444C41);
            out.writeInt(arrays.length);
            for (double[] a : arrays) {
                out.writeInt(a.length);
                for (double v : a) {
                    out.writeDouble(v);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + path, e);
        }
    }

    /**
     * Reads what {@link #writeArrays} wrote. Every count is checked against the bytes the file has left
     * before anything is allocated, and the file must end where its last array does.
     */
    public static double[][] readArrays(String path, Configuration conf) {
        Path p = new Path(path);
        try {
            FileSystem fs = p.getFileSystem(conf);
            long left = fs.getFileStatus(p).getLen();
            try (java.io.DataInputStream in = new java.io.DataInputStream(
                    new java.io.BufferedInputStream(fs.open(p), 1 << 16))) {
                if (left < 8 || in.readInt() != 0x53444C41) {
                    throw new ModelFileException(path, "not a spark-dl array file");
                }
                int count = in.readInt();
                left -= 8;
                if (count < 0 || 4L * count > left) {
                    throw new ModelFileException(path, "claims " + count + " arrays in " + left + " bytes");
                }
                double[][] out = new double[count][];
                for (int i = 0; i < count; i++) {
                    int n = in.readInt();
                    left -= 4;
                    if (n < 0 || 8L * n > left) {
                        throw new ModelFileException(path, "array " + i + " claims " + n + " values in " + left
                                + " bytes");
                    }
                    out[i] = new double[n];
                    for (int j = 0; j < n; j++) {
                        out[i][j] = in.readDouble();
                    }
                    left -= 8L * n;
                }
                if (left != 0 || in.read() != -1) {
                    throw new ModelFileException(path, left + " unexpected bytes after the last array");
                }
                return out;
            }
        } catch (IOException e) {
            throw new ModelFileException(path, null, "unreadable, truncated or corrupt (" + e + ")", e);
        }
    }

    /** Refuses model data whose arrays do not have the structure its reader expects. */
    public static void require(boolean ok, String path, String expected) {
        if (!ok) {
            throw new ModelFileException(path, "expected " + expected);
        }
    }

    /** Writes through a local temp file: {@code writer} fills the file, then it is copied to {@code path}. */
    public static void writeViaLocal(String path, Configuration conf, IOConsumer<File> writer) {
        File tmp = null;
        try {
            tmp = Files.createTempFile("spark-dl-", ".tmp").toFile();
            writer.accept(tmp);
            Path p = new Path(path);
            p.getFileSystem(conf).copyFromLocalFile(false, true, new Path(tmp.toURI()), p);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + path, e);
        } finally {
            if (tmp != null) {
                tmp.delete();
            }
        }
    }

    /** Copies {@code path} to a local temp file, hands it to {@code reader}, and deletes it. */
    public static <T> T readViaLocal(String path, Configuration conf, IOFunction<File, T> reader) {
        File tmp = null;
        try {
            tmp = Files.createTempFile("spark-dl-", ".tmp").toFile();
            Path p = new Path(path);
            p.getFileSystem(conf).copyToLocalFile(false, p, new Path(tmp.toURI()), true);
            return reader.apply(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + path, e);
        } finally {
            if (tmp != null) {
                tmp.delete();
            }
        }
    }

    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T t) throws IOException;
    }

    @FunctionalInterface
    public interface IOFunction<T, R> {
        R apply(T t) throws IOException;
    }
}
