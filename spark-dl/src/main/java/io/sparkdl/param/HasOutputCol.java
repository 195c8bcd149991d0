package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code outputCol}: the column a feature transformer writes; empty means none, where the stage allows it (ImageNormalizer, ImageAugmenter). */
public interface HasOutputCol<T extends HasOutputCol<T>> extends StageParams {
    /** Declares {@code outputCol} with the stage's own doc and default (the column it writes depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.add(new Param<>(d.owner(), "outputCol", doc, SharedParams.<String>validator(v -> v != null)), defaultValue);
    }

    default Param<String> outputCol() {
        return declared().get("outputCol");
    }

    default String getOutputCol() {
        return $(outputCol());
    }

    @SuppressWarnings("unchecked")
    default T setOutputCol(String value) {
        set(outputCol(), value);
        return (T) this;
    }
}
