package io.sparkdl.retrain;

import io.sparkdl.image.ImageSources;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.registry.ModelRegistry;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.StructField;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;

/**
 * A lake partitioned by ingest date, local or at any Hadoop URI, in one of two layouts:
 * <ul>
 *   <li>folders {@code ingest_date=YYYY-MM-DD/<label>/<image>} (each partition a class-per-folder tree);</li>
 *   <li>a Parquet table with a binary image column, a {@code label} column and an {@code ingest_date} column
 *       (recognised by its {@code .parquet} files or {@code _SUCCESS} marker).</li>
 * </ul>
 */
public final class DateLake implements LakeSource {
    /** The partition column of a table and the folder prefix of a folder tree. */
    public static final String PARTITION = "ingest_date";

    private final SparkSession spark;
    private final String path;
    private final boolean table;

    private DateLake(SparkSession spark, String path, boolean table) {
        this.spark = spark;
        this.path = path;
        this.table = table;
    }

    /** The lake at {@code path}; throws IllegalArgumentException when there is nothing there. */
    public static DateLake at(SparkSession spark, String path) {
        String p = path.replaceAll("/+$", "");
        if (!HadoopFiles.exists(p, spark.sparkContext().hadoopConfiguration())) {
            throw new IllegalArgumentException("lake " + p + " does not exist");
        }
        boolean table = HadoopFiles.list(p, spark.sparkContext().hadoopConfiguration()).stream()
                .anyMatch(n -> n.endsWith(".parquet") || n.equals("_SUCCESS"));
        return new DateLake(spark, p, table);
    }

    @Override
    public List<String> partitions() {
        List<String> out = new ArrayList<>();
        if (table) {
            Dataset<Row> t = spark.read().parquet(path);
            if (!List.of(t.columns()).contains(PARTITION)) {
                throw new IllegalArgumentException("Parquet lake " + path + " has no " + PARTITION
                        + " column; it has " + String.join(", ", t.columns()));
            }
            List<String> dates = t.select(col(PARTITION).cast("string")).distinct().as(Encoders.STRING())
                    .collectAsList();
            for (String d : dates) {
                if (d != null) {
                    checkDate(d, "Parquet lake " + path + ": " + PARTITION + " value");
                    out.add(d);
                }
            }
        } else {
            for (String name : HadoopFiles.list(path, spark.sparkContext().hadoopConfiguration())) {
                if (name.startsWith(PARTITION + "=")) {
                    String d = name.substring(PARTITION.length() + 1);
                    checkDate(d, "lake partition " + path + "/" + name + ":");
                    out.add(d);
                }
            }
        }
        Collections.sort(out);
        return out;
    }

    @Override
    public Dataset<Row> read(List<String> partitions) {
        if (partitions.isEmpty()) {
            throw new IllegalArgumentException("no partition of " + path + " to read");
        }
        if (table) {
            Dataset<Row> t = spark.read().parquet(path);
            String bytes = null;
            for (StructField f : t.schema().fields()) {
                if (f.dataType() instanceof BinaryType) {
                    bytes = f.name();
                    break;
                }
            }
            if (bytes == null || !List.of(t.columns()).contains("label")) {
                throw new IllegalArgumentException("Parquet lake " + path + " needs a binary image column, a label "
                        + "column and " + PARTITION + "; it has " + String.join(", ", t.columns()));
            }
            return t.where(col(PARTITION).cast("string").isin(partitions.toArray()))
                    .select(concat(lit("table:"), col(PARTITION).cast("string")).as("path"),
                            col("label").cast("string").as("label"), col(bytes).as("content"));
        }
        Dataset<Row> all = null;
        for (String d : partitions) {
            Dataset<Row> p = ImageSources.readFolder(spark, path + "/" + PARTITION + "=" + d);
            all = all == null ? p : all.unionByName(p);
        }
        return Objects.requireNonNull(all);
    }

    @Override
    public String describe() {
        return (table ? "Parquet lake " : "lake ") + path;
    }

    /** Partition values are real dates, checked before anything is trained: a bad one never becomes the watermark. */
    private static void checkDate(String value, String where) {
        try {
            ModelRegistry.date(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + " '" + value + "' is not a real date YYYY-MM-DD; rename or "
                    + "remove it (nothing was trained)");
        }
    }
}
