package io.sparkdl.image;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * Image data sources as DataFrames of undecoded bytes, ready for {@link ImageDecoder}.
 *
 * <p>Files are listed on the driver (names only) and read on executors by Spark's {@code binaryFile}
 * source, which sizes partitions from the data and the cluster's parallelism. No pixel reaches the
 * driver.
 */
public final class ImageSources {
    private ImageSources() {
    }

    /**
     * A folder tree where each sub-folder of {@code root} is a class: columns {@code path} (string),
     * {@code label} (string: the first folder below root; null for files directly in root) and
     * {@code content} (binary). Every file is kept, whatever its extension: files that are not images
     * are reported by the decoder instead of vanishing. Hidden files (names starting with '.' or '_')
     * are skipped, as everywhere in Spark.
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
        String prefix = qualified.endsWith("/") ? qualified : qualified + "/";
        Dataset<Row> files = spark.read().format("binaryFile")
                .option("recursiveFileLookup", "true")
                .load(qualified);
        // binaryFile qualifies paths the same way as FileSystem.makeQualified, so the prefix matches.
        Column rel = expr("substring(path, " + (prefix.length() + 1) + ")");
        Column label = when(col("path").startsWith(lit(prefix)).and(rel.contains("/")),
                expr("substring_index(substring(path, " + (prefix.length() + 1) + "), '/', 1)"))
                .otherwise(lit(null).cast(DataTypes.StringType));
        return files.select(col("path"), label.as("label"), col("content"));
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
