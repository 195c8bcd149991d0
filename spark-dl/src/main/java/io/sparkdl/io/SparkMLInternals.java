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

    /** Writes {@code path/metadata} (class, uid, Spark version, params) for a stage that has data too. */
    public static void saveMetadata(Params instance, String path, SparkContext sc) {
        DefaultParamsWriter$.MODULE$.saveMetadata(instance, path, sc, Option.empty(), Option.empty());
    }

    /** Reads {@code path/metadata}, checking that it was written by {@code expectedClass}. */
    public static Metadata loadMetadata(String path, SparkContext sc, Class<?> expectedClass) {
        return new Metadata(DefaultParamsReader$.MODULE$.loadMetadata(path, sc, expectedClass.getName()));
    }

    /** A PipelineModel of already fitted stages (its constructor is package-private in Scala, public in bytecode). */
    public static org.apache.spark.ml.PipelineModel pipelineModel(String uid, org.apache.spark.ml.Transformer[] stages) {
        return new org.apache.spark.ml.PipelineModel(uid, stages);
    }

    /** The class name a saved stage's metadata records (to load a folder without knowing its kind). */
    public static String stageClassName(String path, SparkContext sc) {
        return DefaultParamsReader$.MODULE$.loadMetadata(path, sc, "").className();
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
