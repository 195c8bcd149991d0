package io.sparkdl.image;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * Image data sources as DataFrames of undecoded bytes, ready for {@link ImageDecoder}.
 * Files are listed on the driver (names only) and read on executors; no pixel reaches the driver.
 */
public final class ImageSources {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ImageSources.class);

    private ImageSources() {
    }

    /** Files per partition when reading a folder: big enough to amortise task start-up, small enough to retry. */
    static final int FILES_PER_PARTITION = 1000;

    /**
     * A folder tree where each sub-folder of {@code root} is a class: columns {@code path} (string),
     * {@code label} (string: the first folder below root; null for files directly in root) and
     * {@code content} (binary; null when the file could not be read). Every file is kept, whatever its
     * extension or size, empty ones included: files that are not images are reported by the decoder
     * instead of vanishing. Hidden files (names starting with '.' or '_') are skipped, as everywhere in
     * Spark.
     *
     * <p>The driver lists the tree as a stream and keeps only compact file names (~70 bytes a file, no
     * Spark file index). Bytes are read lazily on executors, about {@value #FILES_PER_PARTITION} files
     * per partition and at least one partition per core. (Spark's {@code binaryFile} source drops
     * zero-length files, keeps a FileStatus per file on the driver, and plans each small file as 4 MB,
     * which makes thousands of tiny partitions for image folders.)
     */
    public static Dataset<Row> readFolder(SparkSession spark, String root) {
        Path p = new Path(root);
        String qualified;
        try {
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(p)) {
                throw new IllegalArgumentException("Image folder " + root + " does not exist");
            }
            if (!fs.getFileStatus(p).isDirectory()) {
                throw new IllegalArgumentException("Image folder " + root + " is a file, not a folder");
            }
            qualified = fs.makeQualified(p).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list image folder " + root, e);
        }
        // Compare URI paths: listings may spell the same file "file:/x" or "file:///x".
        String rootPath = new Path(qualified).toUri().getPath();
        String prefix = rootPath.endsWith("/") ? rootPath : rootPath + "/";
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<byte[]> chunks = spread(listCompact(p, spark.sparkContext().hadoopConfiguration(), root),
                sc.defaultParallelism());
        Broadcast<HadoopConf> conf = sc.broadcast(new HadoopConf(spark.sparkContext().hadoopConfiguration()));
        JavaRDD<Row> rows = sc.parallelize(chunks, Math.max(1, chunks.size()))
                .flatMap(chunk -> {
                    List<Row> out = new ArrayList<>();
                    for (String f : new String(chunk, StandardCharsets.UTF_8).split("\n")) {
                        if (f.isEmpty()) {
                            continue;
                        }
                        Path file = uri(f);
                        String fp = file.toUri().getPath();
                        String rel = fp.startsWith(prefix) ? fp.substring(prefix.length()) : null;
                        String label = rel != null && rel.contains("/") ? rel.substring(0, rel.indexOf('/')) : null;
                        out.add(RowFactory.create(file.toString(), label, readBytes(file, conf.value().get())));
                    }
                    return out.iterator();
                });
        StructType schema = new StructType()
                .add("path", DataTypes.StringType, false)
                .add("label", DataTypes.StringType, true)
                .add("content", DataTypes.BinaryType, true);
        return spark.createDataFrame(rows, schema);
    }

    /**
     * Lists every file below {@code root} (streaming, so the driver never holds FileStatus objects) into
     * chunks of {@value #FILES_PER_PARTITION} newline-separated names: about 70 bytes per file on the driver,
     * and one chunk per partition to read. Each name is the file's URI in ASCII form, so any character a file
     * system allows in a name (':' or a newline included) survives the trip to the executors; {@link #uri}
     * reads it back. Names with a component starting with '.' or '_' (hidden, as Spark treats them) are
     * skipped.
     *
     * <p>Symbolic links to folders (local disks): a link is followed only when its target lies outside the
     * tree being listed and was not reached before (targets compared by real path). A link back into the tree
     * (a cycle such as {@code ln -s .. loop}, or a second name for a class folder) is skipped with a warning,
     * so no image is listed twice or under another class's name.
     */
    static List<byte[]> listCompact(Path root, Configuration hadoopConf, String shown) {
        Chunker out = new Chunker();
        try {
            FileSystem fs = root.getFileSystem(hadoopConf);
            Path qualified = fs.makeQualified(root);
            if ("file".equals(qualified.toUri().getScheme())) {
                listLocal(java.nio.file.Paths.get(qualified.toUri()), out);
            } else {
                listHadoop(fs, qualified, out, shown);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list image folder " + shown, e);
        }
        return out.finish();
    }

    /** Newline-separated URIs, cut into chunks of {@value #FILES_PER_PARTITION}. */
    private static final class Chunker {
        private final List<byte[]> chunks = new ArrayList<>();
        private final java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        private int inChunk;

        void add(java.net.URI file) {
            byte[] name = file.toASCIIString().getBytes(StandardCharsets.US_ASCII);
            buf.write(name, 0, name.length);
            buf.write('\n');
            if (++inChunk == FILES_PER_PARTITION) {
                chunks.add(buf.toByteArray());
                buf.reset();
                inChunk = 0;
            }
        }

        List<byte[]> finish() {
            if (inChunk > 0) {
                chunks.add(buf.toByteArray());
            }
            return chunks;
        }
    }

    private static boolean hidden(String name) {
        return name.startsWith(".") || name.startsWith("_");
    }

    /**
     * The local tree through java.nio: Hadoop's local listing parses each child name as a URI string, so one
     * file named {@code a:b.png} made it throw and end the job.
     */
    private static void listLocal(java.nio.file.Path root, Chunker out) throws IOException {
        java.nio.file.Path rootReal = root.toRealPath();
        java.util.Set<java.nio.file.Path> visited = new java.util.HashSet<>();
        java.util.ArrayDeque<java.nio.file.Path> dirs = new java.util.ArrayDeque<>();
        dirs.push(root);
        visited.add(rootReal);
        while (!dirs.isEmpty()) {
            java.nio.file.Path dir = dirs.pop();
            List<java.nio.file.Path> entries = new ArrayList<>();
            try (java.nio.file.DirectoryStream<java.nio.file.Path> ds = java.nio.file.Files.newDirectoryStream(dir)) {
                ds.forEach(entries::add);
            } catch (IOException e) {
                if (dir.equals(root)) {
                    throw e;
                }
                LOG.warn("Cannot list folder {} ({}); its files are not used", dir, e.toString());
                continue;
            }
            entries.sort(null);
            for (java.nio.file.Path e : entries) {
                if (hidden(e.getFileName().toString())) {
                    continue;
                }
                if (!java.nio.file.Files.isDirectory(e)) {
                    // regular files, and anything else (a broken link, a fifo) for the decoder to report
                    out.add(e.toUri());
                    continue;
                }
                if (!java.nio.file.Files.isSymbolicLink(e)) {
                    visited.add(e.toRealPath());
                    dirs.push(e);
                    continue;
                }
                java.nio.file.Path target;
                try {
                    target = e.toRealPath();
                } catch (IOException ex) {
                    LOG.warn("Skipping the link {}: cannot resolve it ({})", e, ex.toString());
                    continue;
                }
                if (target.startsWith(rootReal)) {
                    LOG.warn("Skipping the link {}: it leads to {}, inside the folder being read (a cycle or a "
                            + "second name for the same images)", e, target);
                } else if (!visited.add(target)) {
                    LOG.warn("Skipping the link {}: its target {} was already read through another link", e, target);
                } else {
                    dirs.push(e);
                }
            }
        }
    }

    /** Any other Hadoop file system (HDFS, S3A, ABFS: no symbolic links in practice). */
    private static void listHadoop(FileSystem fs, Path root, Chunker out, String shown) throws IOException {
        // A plain listStatus walk, one directory at a time: listFiles(recursive) builds a LocatedFileStatus per
        // file, which is slow on large trees.
        java.util.ArrayDeque<Path> dirs = new java.util.ArrayDeque<>();
        dirs.push(root);
        while (!dirs.isEmpty()) {
            Path dir = dirs.pop();
            FileStatus[] listed;
            try {
                listed = fs.listStatus(dir);
            } catch (IllegalArgumentException e) {
                // a name the file system client cannot turn into a Path: say which folder, keep the rest
                LOG.warn("Cannot list folder {} of {} ({}); its files are not used", dir, shown, e.getMessage());
                continue;
            }
            for (FileStatus st : listed) {
                if (hidden(st.getPath().getName())) {
                    continue;
                }
                if (st.isDirectory()) {
                    dirs.push(st.getPath());
                } else {
                    out.add(st.getPath().toUri());
                }
            }
        }
    }

    /** A file name as {@link #listCompact} wrote it. */
    static Path uri(String listed) {
        try {
            return new Path(new java.net.URI(listed));
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException("not a listed file URI: " + listed, e);
        }
    }

    /** Small listings (fewer chunks than cores) are re-cut into one chunk per core, so every core decodes. */
    static List<byte[]> spread(List<byte[]> chunks, int cores) {
        if (chunks.size() >= cores || chunks.isEmpty()) {
            return chunks;
        }
        List<String> names = new ArrayList<>();
        for (byte[] c : chunks) {
            for (String f : new String(c, StandardCharsets.UTF_8).split("\n")) {
                if (!f.isEmpty()) {
                    names.add(f);
                }
            }
        }
        int parts = Math.min(cores, names.size());
        List<byte[]> out = new ArrayList<>(parts);
        for (int i = 0; i < parts; i++) {
            List<String> slice = names.subList((int) ((long) i * names.size() / parts),
                    (int) ((long) (i + 1) * names.size() / parts));
            out.add((String.join("\n", slice) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    /**
     * The file's bytes, or null when it cannot be read, is not a regular file (a fifo would block the task) or
     * is too large for one array. Local files are read with java.nio: Hadoop's local file system derives a
     * checksum file name from the file name and fails on names such as {@code a:b.png}.
     */
    private static byte[] readBytes(Path p, Configuration conf) {
        try {
            if ("file".equals(p.toUri().getScheme())) {
                java.nio.file.Path f = java.nio.file.Paths.get(p.toUri());
                if (!java.nio.file.Files.isRegularFile(f) || java.nio.file.Files.size(f) > Integer.MAX_VALUE - 16) {
                    return null;
                }
                return java.nio.file.Files.readAllBytes(f);
            }
            FileSystem fs = p.getFileSystem(conf);
            FileStatus st = fs.getFileStatus(p);
            long len = st.getLen();
            if (!st.isFile() || len > Integer.MAX_VALUE - 16) {
                return null;
            }
            byte[] b = new byte[(int) len];
            try (FSDataInputStream in = fs.open(p)) {
                in.readFully(0, b);
            }
            return b;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Hadoop's Configuration is Writable, not Serializable. */
    /** A Hadoop Configuration for closures and broadcasts (Java serialization; Kryo registers it so). */
    public static final class HadoopConf implements Serializable {
        private transient Configuration conf;

        public HadoopConf(Configuration conf) {
            this.conf = conf;
        }

        public Configuration get() {
            return conf;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            conf.write(out);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            conf = new Configuration(false);
            conf.readFields(in);
        }
    }

    /**
     * A table (Parquet, or any format Spark reads) with an image-bytes column and a label column,
     * returned with the columns renamed to {@code content} and {@code label} (and {@code path} when
     * {@code pathCol} is given, else a synthetic "table#row" origin is not made: path is null).
     */
    public static Dataset<Row> readTable(SparkSession spark, String path, String format, String bytesCol,
                                         String labelCol, String pathCol) {
        Dataset<Row> t = spark.read().format(format).load(path);
        for (String c : new String[]{bytesCol, labelCol}) {
            if (c != null && !java.util.Arrays.asList(t.columns()).contains(c)) {
                throw new IllegalArgumentException("Table " + path + " has no column '" + c + "'; columns: "
                        + String.join(", ", t.columns()));
            }
        }
        if (!t.schema().apply(bytesCol).dataType().equals(DataTypes.BinaryType)) {
            throw new IllegalArgumentException("Column " + bytesCol + " must be of type binary but was "
                    + t.schema().apply(bytesCol).dataType().simpleString());
        }
        Column pathColumn = pathCol != null ? col(pathCol).cast(DataTypes.StringType)
                : lit(null).cast(DataTypes.StringType);
        Column labelColumn = labelCol != null ? col(labelCol) : lit(null).cast(DataTypes.StringType);
        return t.select(pathColumn.as("path"), labelColumn.as("label"), col(bytesCol).as("content"));
    }
}
