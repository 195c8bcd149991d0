package io.sparkdl.io;

import org.apache.spark.SparkContext;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import scala.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

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
    private static final ObjectMapper JSON = new ObjectMapper();

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
     * Reader for a params-only stage that renamed params: {@code renamed} maps an old name to its new one, so
     * stages saved by earlier releases still load.
     */
    public static <T extends Params> MLReader<T> paramsReader(Class<T> cls, Map<String, String> renamed) {
        return new MLReader<>() {
            @Override
            public T load(String path) {
                Metadata meta = loadMetadata(path, sparkSession().sparkContext(), cls, renamed, Set.of());
                T stage;
                try {
                    stage = cls.getConstructor(String.class).newInstance(meta.uid());
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(cls.getName() + " needs a public (String uid) constructor", e);
                }
                meta.applyParams(stage);
                return stage;
            }
        };
    }

    /**
     * Loads any saved stage by the class its metadata names, through that class's static {@code read()} (as
     * Spark's Pipeline reader does): a nested stage such as an ensemble's base estimator.
     */
    public static org.apache.spark.ml.PipelineStage loadStage(String path, SparkContext sc) {
        String cls = stageClassName(path, sc);
        try {
            MLReader<?> reader = (MLReader<?>) Class.forName(cls).getMethod("read").invoke(null);
            return (org.apache.spark.ml.PipelineStage) reader.load(path);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Cannot load the stage in " + path + ": class " + cls
                    + " has no static read()", e);
        }
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
        return new Metadata(DefaultParamsReader$.MODULE$.loadMetadata(path, sc, expectedClass.getName()), Map.of());
    }

    /**
     * Reads {@code path/metadata} written by {@code expectedClass} or an earlier release of it: params named in
     * {@code renamed} (old name to new) are read under their new name, and those in {@code removed} are taken
     * out of the params and handed over by {@link Metadata#removedParams()} as JSON, for the reader to place.
     */
    public static Metadata loadMetadata(String path, SparkContext sc, Class<?> expectedClass,
                                        Map<String, String> renamed, Set<String> removed) {
        String file = path + "/metadata";
        String json = new org.apache.spark.api.java.JavaSparkContext(sc).textFile(file, 1).first();
        Map<String, String> taken = new LinkedHashMap<>();
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(json);
            for (String section : new String[]{"paramMap", "defaultParamMap"}) {
                if (!(root.get(section) instanceof ObjectNode params)) {
                    continue;
                }
                for (Map.Entry<String, String> r : renamed.entrySet()) {
                    if (params.has(r.getKey()) && !params.has(r.getValue())) {
                        params.set(r.getValue(), params.remove(r.getKey()));
                    }
                }
                for (String name : removed) {
                    JsonNode v = params.remove(name);
                    if (v != null && section.equals("paramMap")) {
                        taken.put(name, JSON.writeValueAsString(v));
                    }
                }
            }
            json = JSON.writeValueAsString(root);
        } catch (java.io.IOException | ClassCastException e) {
            throw new ModelFileException(file, null, "not the JSON of a saved stage", e);
        }
        return new Metadata(DefaultParamsReader$.MODULE$.parseMetadata(json, expectedClass.getName()), taken);
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
        private final Map<String, String> removed;

        private Metadata(DefaultParamsReader.Metadata m, Map<String, String> removed) {
            this.m = m;
            this.removed = removed;
        }

        /** Params that an earlier release saved and this one declares elsewhere: name to its JSON value. */
        public Map<String, String> removedParams() {
            return removed;
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

        /**
         * Whether the saved stage recorded param {@code name}, set or as a default (false for params added after
         * the stage was saved: their value is this release's default, which a reader may have to replace).
         */
        public boolean recorded(String name) {
            try {
                JsonNode root = JSON.readTree(m.metadataJson());
                for (String section : new String[]{"paramMap", "defaultParamMap"}) {
                    if (root.get(section) != null && root.get(section).has(name)) {
                        return true;
                    }
                }
                return false;
            } catch (java.io.IOException e) {
                throw new IllegalStateException("metadata of " + m.uid() + " is not JSON", e);
            }
        }
    }
}
