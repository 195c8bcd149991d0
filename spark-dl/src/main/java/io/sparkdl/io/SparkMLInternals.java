package io.sparkdl.io;

import org.apache.spark.SparkContext;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import scala.Option;

/**
 * The one class in spark-dl that touches Spark ML internals.
 *
 * <p>{@code DefaultParamsWriter/Reader} are {@code private[ml]} in Scala but public in bytecode, and
 * their signatures move between Spark releases; keeping every call here means a Spark upgrade is
 * checked in one file. The metadata they write is Spark's own layout ({@code path/metadata}), so
 * Spark's {@code Pipeline} and {@code PipelineModel} readers load spark-dl stages like their own.
 *
 * <p>It also reads ML vector columns as Spark SQL's internal rows ({@link #internalRows}, {@link #copyVector}):
 * packing 60,000 Fashion-MNIST vectors into float blocks that way takes about half the time of going through
 * external {@code Row}s and {@code DenseVector} objects.
 */
public final class SparkMLInternals {
    private SparkMLInternals() {
    }

    /** Writer for stages whose whole state is their params. */
    public static MLWriter paramsWriter(Params instance) {
        return new DefaultParamsWriter(instance);
    }

    /** Reader for stages whose whole state is their params; the class needs a (String uid) constructor. */
    public static <T> MLReader<T> paramsReader() {
        return new DefaultParamsReader<>();
    }

    /**
     * Writes {@code path/metadata} (class, uid, Spark version, params) for a stage that has data too.
     * Spark 4 deprecates the SparkContext overloads of save/loadMetadata for SparkSession ones that Spark 3.5
     * does not have; both lines build from this source, so the SparkContext ones stay (here only).
     */
    @SuppressWarnings("deprecation")
    public static void saveMetadata(Params instance, String path, SparkContext sc) {
        DefaultParamsWriter$.MODULE$.saveMetadata(instance, path, sc, Option.empty(), Option.empty());
    }

    /** Reads {@code path/metadata}, checking that it was written by {@code expectedClass}. */
    @SuppressWarnings("deprecation")
    public static Metadata loadMetadata(String path, SparkContext sc, Class<?> expectedClass) {
        return new Metadata(DefaultParamsReader$.MODULE$.loadMetadata(path, sc, expectedClass.getName()));
    }

    /** A PipelineModel of already fitted stages (its constructor is package-private in Scala, public in bytecode). */
    public static org.apache.spark.ml.PipelineModel pipelineModel(String uid, org.apache.spark.ml.Transformer[] stages) {
        return new org.apache.spark.ml.PipelineModel(uid, stages);
    }

    /** The class name a saved stage's metadata records (to load a folder without knowing its kind). */
    @SuppressWarnings("deprecation")
    public static String stageClassName(String path, SparkContext sc) {
        return DefaultParamsReader$.MODULE$.loadMetadata(path, sc, "").className();
    }

    /**
     * The rows of a one-column DataFrame as Spark SQL internal rows (no conversion to external {@code Row}s).
     * A row object may be reused by the next call of the iterator, so read it before moving on.
     */
    public static org.apache.spark.api.java.JavaRDD<org.apache.spark.sql.catalyst.InternalRow> internalRows(
            org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> oneColumn) {
        return oneColumn.queryExecution().toRdd().toJavaRDD();
    }

    /**
     * Copies the ML vector in column {@code ordinal} of an internal row (VectorUDT's layout: type 0 sparse or
     * 1 dense, size, indices, values) into {@code dst[off..off + width)} as floats, when its size is
     * {@code width}; returns its size either way (the caller reports a mismatch).
     */
    public static int copyVector(org.apache.spark.sql.catalyst.InternalRow row, int ordinal, float[] dst, int off,
                                 int width) {
        org.apache.spark.sql.catalyst.InternalRow v = row.getStruct(ordinal, 4);
        org.apache.spark.sql.catalyst.util.ArrayData values = v.getArray(3);
        if (v.getByte(0) == 1) {
            int n = values.numElements();
            if (n == width) {
                for (int i = 0; i < n; i++) {
                    dst[off + i] = (float) values.getDouble(i);
                }
            }
            return n;
        }
        int size = v.getInt(1);
        if (size == width) {
            org.apache.spark.sql.catalyst.util.ArrayData indices = v.getArray(2);
            java.util.Arrays.fill(dst, off, off + width, 0f);
            for (int i = 0; i < values.numElements(); i++) {
                dst[off + indices.getInt(i)] = (float) values.getDouble(i);
            }
        }
        return size;
    }

    /** Stage metadata as read back; {@link #applyParams} sets the saved params on a new instance. */
    public static final class Metadata {
        private final DefaultParamsReader.Metadata m;

        private Metadata(DefaultParamsReader.Metadata m) {
            this.m = m;
        }

        public String uid() {
            return m.uid();
        }

        public String sparkVersion() {
            return m.sparkVersion();
        }

        public void applyParams(Params instance) {
            m.getAndSetParams(instance, Option.empty());
        }
    }
}
