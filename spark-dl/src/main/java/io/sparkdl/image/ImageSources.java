package io.sparkdl.image;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
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
import java.util.Arrays;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * Image data sources as DataFrames of undecoded bytes, ready for {@link ImageDecoder}.
 * Files are listed on the driver (names only) and read on executors; no pixel reaches the driver.
 */
public final class ImageSources {
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
     * <p>Spark lists the tree (in parallel for large trees); the driver keeps only the file names.
     * Bytes are read lazily on executors, about {@value #FILES_PER_PARTITION} files per partition and at
     * least one partition per core. (Spark's {@code binaryFile} source drops zero-length files and plans
     * each small file as 4 MB, which makes thousands of tiny partitions for image folders.)
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
        String[] files = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                .load(qualified).inputFiles();
        Arrays.sort(files);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int parts = Math.max(1, Math.max(sc.defaultParallelism(),
                (files.length + FILES_PER_PARTITION - 1) / FILES_PER_PARTITION));
        parts = Math.min(parts, Math.max(1, files.length));
        Broadcast<HadoopConf> conf = sc.broadcast(new HadoopConf(spark.sparkContext().hadoopConfiguration()));
        JavaRDD<Row> rows = sc.parallelize(Arrays.asList(files), parts).map(f -> {
            String fp = new Path(f).toUri().getPath();
            String rel = fp.startsWith(prefix) ? fp.substring(prefix.length()) : null;
            String label = rel != null && rel.contains("/") ? rel.substring(0, rel.indexOf('/')) : null;
            return RowFactory.create(f, label, readBytes(f, conf.value().get()));
        });
        StructType schema = new StructType()
                .add("path", DataTypes.StringType, false)
                .add("label", DataTypes.StringType, true)
                .add("content", DataTypes.BinaryType, true);
        return spark.createDataFrame(rows, schema);
    }

    /** The file's bytes, or null when it cannot be read or is too large for one array. */
    private static byte[] readBytes(String file, Configuration conf) {
        Path p = new Path(file);
        try {
            FileSystem fs = p.getFileSystem(conf);
            long len = fs.getFileStatus(p).getLen();
            if (len > Integer.MAX_VALUE - 16) {
                return null;
            }
            byte[] b = new byte[(int) len];
            try (FSDataInputStream in = fs.open(p)) {
                in.readFully(0, b);
            }
            return b;
        } catch (IOException e) {
            return null;
        }
    }

    /** Hadoop's Configuration is Writable, not Serializable. */
    static final class HadoopConf implements Serializable {
        private transient Configuration conf;

        HadoopConf(Configuration conf) {
            this.conf = conf;
        }

        Configuration get() {
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
