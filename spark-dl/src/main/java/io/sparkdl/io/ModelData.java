package io.sparkdl.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * A stage's numeric state as MLlib stores it: one small DataFrame written as Parquet in one file under the
 * stage's folder ({@code path/data}, and {@code path/history} for a classifier's epochs), readable with
 * {@code spark.read().parquet(path + "/data")}. Small metadata stays in Spark's {@code path/metadata} JSON
 * ({@link SparkMLInternals}); a DL4J network stays in its zip ({@link NetworkZip}).
 *
 * <p>Reading is bounded: the folder's bytes are checked before Spark opens it, the columns a reader needs must
 * be there with their types, and rows and array lengths are capped, each refusal a {@link ModelFileException}
 * naming the folder and column.
 */
public final class ModelData {
    /** The folder under a stage's path that holds its data, as in MLlib. */
    public static final String DATA = "data";
    /** The most bytes a data folder may hold (a PCA of 100 components over 1M values is 800 MB). */
    public static final long MAX_BYTES = 2L << 30;
    /** The most values one array column may hold (matrices are stored flat, row-major). */
    public static final int MAX_VALUES = 1 << 28;
    /** An array of non-null doubles (vectors, and matrices stored flat, row-major). */
    public static final org.apache.spark.sql.types.ArrayType DOUBLES =
            org.apache.spark.sql.types.DataTypes.createArrayType(org.apache.spark.sql.types.DataTypes.DoubleType, false);

    private ModelData() {
    }

    /** Writes {@code rows} as Parquet, one file, to the folder {@code dir} (which must not exist yet). */
    public static void write(SparkSession spark, String dir, StructType schema, List<Row> rows) {
        spark.createDataFrame(rows, schema).repartition(1).write().parquet(dir);
    }

    /** Whether {@code dir} holds Parquet files (the layout {@link #write} produces). */
    public static boolean isParquet(String dir, Configuration conf) {
        return HadoopFiles.list(dir, conf).stream().anyMatch(n -> n.endsWith(".parquet"));
    }

    /**
     * The rows of the Parquet folder {@code dir} (columns of {@code schema}, in its order), refusing a folder
     * larger than {@link #MAX_BYTES}, a missing column or one of another type, and more than {@code maxRows} rows.
     */
    public static List<Row> read(SparkSession spark, String dir, StructType schema, int maxRows) {
        return read(spark, dir, schema, new StructType(), maxRows);
    }

    /**
     * Like {@link #read(SparkSession, String, StructType, int)}, but the nullable columns of {@code optional}
     * (added in later releases) may be absent: they read as null then. The rows hold the columns of
     * {@code schema}, then those of {@code optional}.
     */
    public static List<Row> read(SparkSession spark, String dir, StructType schema, StructType optional,
                                 int maxRows) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        checkBytes(dir, conf);
        Dataset<Row> df;
        try {
            df = spark.read().parquet(dir);
        } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes but not declared
            throw new ModelFileException(dir, null, "not readable as Parquet (" + e.getMessage() + ")", e);
        }
        StructType found = df.schema();
        for (StructField f : schema.fields()) {
            if (!Arrays.asList(found.fieldNames()).contains(f.name())) {
                throw new ModelFileException(dir, "no column '" + f.name() + "' (" + f.dataType().simpleString()
                        + "); it has " + String.join(", ", found.fieldNames()));
            }
            String type = found.apply(f.name()).dataType().simpleString();
            if (!type.equals(f.dataType().simpleString())) {
                throw new ModelFileException(dir, "column '" + f.name() + "' is " + type + ", expected "
                        + f.dataType().simpleString());
            }
        }
        List<Column> cols = new java.util.ArrayList<>();
        for (String n : schema.fieldNames()) {
            cols.add(col(n));
        }
        for (StructField f : optional.fields()) {
            if (!Arrays.asList(found.fieldNames()).contains(f.name())) {
                cols.add(org.apache.spark.sql.functions.lit(null).cast(f.dataType()).as(f.name()));
                continue;
            }
            String type = found.apply(f.name()).dataType().simpleString();
            if (!type.equals(f.dataType().simpleString())) {
                throw new ModelFileException(dir, "column '" + f.name() + "' is " + type + ", expected "
                        + f.dataType().simpleString());
            }
            cols.add(col(f.name()));
        }
        List<Row> rows;
        try {
            rows = df.select(cols.toArray(new Column[0])).limit(maxRows + 1).collectAsList();
        } catch (Exception e) {
            throw new ModelFileException(dir, null, "unreadable, truncated or corrupt (" + e.getMessage() + ")", e);
        }
        if (rows.size() > maxRows) {
            throw new ModelFileException(dir, "holds more than " + maxRows + " rows");
        }
        return rows;
    }

    /** The one row of {@code dir} (see {@link #read}). */
    public static Row readOne(SparkSession spark, String dir, StructType schema) {
        List<Row> rows = read(spark, dir, schema, 1);
        if (rows.isEmpty()) {
            throw new ModelFileException(dir, "holds no row");
        }
        return rows.get(0);
    }

    /** An array column's values (null elements as NaN); null when the cell is null. */
    public static double[] doubles(Row r, String column, String dir) {
        List<Object> l = list(r, column, dir);
        if (l == null) {
            return null;
        }
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = l.get(i);
            out[i] = v == null ? Double.NaN : ((Number) v).doubleValue();
        }
        return out;
    }

    /** An array column's values; null when the cell is null; a null element is refused. */
    public static long[] longs(Row r, String column, String dir) {
        List<Object> l = list(r, column, dir);
        if (l == null) {
            return null;
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) nonNull(l.get(i), column, dir)).longValue();
        }
        return out;
    }

    /** An array column's values; null when the cell is null; a null element is refused. */
    public static String[] strings(Row r, String column, String dir) {
        List<Object> l = list(r, column, dir);
        return l == null ? null : l.stream().map(v -> (String) nonNull(v, column, dir)).toArray(String[]::new);
    }

    /** A flat row-major matrix column as {@code rows} rows (its length must be a multiple of {@code rows}). */
    public static double[][] matrix(Row r, String column, int rows, String dir) {
        double[] flat = doubles(r, column, dir);
        require(flat != null && rows > 0 && flat.length % rows == 0 && flat.length / rows > 0, dir,
                "column '" + column + "': " + rows + " rows of one non-zero length");
        int n = flat.length / rows;
        double[][] out = new double[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = Arrays.copyOfRange(flat, i * n, (i + 1) * n);
        }
        return out;
    }

    /** {@code rows} flattened row-major (they must all have one length). */
    public static double[] flatten(double[][] rows) {
        int n = rows.length == 0 ? 0 : rows[0].length;
        double[] out = new double[Math.multiplyExact(rows.length, n)];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != n) {
                throw new IllegalArgumentException("row " + i + " has " + rows[i].length + " values, row 0 " + n);
            }
            System.arraycopy(rows[i], 0, out, i * n, n);
        }
        return out;
    }

    /** A non-null scalar column's value. */
    public static Object value(Row r, String column, String dir) {
        return nonNull(r.get(r.fieldIndex(column)), column, dir);
    }

    /** Refuses data that does not have the structure its reader expects. */
    public static void require(boolean ok, String dir, String expected) {
        if (!ok) {
            throw new ModelFileException(dir, "expected " + expected);
        }
    }

    private static List<Object> list(Row r, String column, String dir) {
        int i = r.fieldIndex(column);
        if (r.isNullAt(i)) {
            return null;
        }
        List<Object> l = r.getList(i);
        if (l.size() > MAX_VALUES) {
            throw new ModelFileException(dir, "column '" + column + "' holds " + l.size() + " values, more than "
                    + MAX_VALUES);
        }
        return l;
    }

    private static Object nonNull(Object v, String column, String dir) {
        if (v == null) {
            throw new ModelFileException(dir, "column '" + column + "' holds a null");
        }
        return v;
    }

    private static void checkBytes(String dir, Configuration conf) {
        Path p = new Path(dir);
        long bytes;
        try {
            bytes = p.getFileSystem(conf).getContentSummary(p).getLength();
        } catch (java.io.FileNotFoundException e) {
            throw new ModelFileException(dir, null, "missing", e);
        } catch (IOException e) {
            throw new ModelFileException(dir, null, "unreadable (" + e + ")", e);
        }
        if (bytes > MAX_BYTES) {
            throw new ModelFileException(dir, "holds " + bytes + " bytes, more than " + MAX_BYTES);
        }
    }
}
