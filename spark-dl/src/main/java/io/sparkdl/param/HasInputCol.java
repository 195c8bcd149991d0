package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code inputCol}: the column a feature transformer reads. */
public interface HasInputCol<T extends HasInputCol<T>> extends StageParams {
    /** Declares {@code inputCol} with the stage's own doc and default (the column it reads depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("inputCol", doc, defaultValue);
    }

    default Param<String> inputCol() {
        return declared().get("inputCol");
    }

    default String getInputCol() {
        return $(inputCol());
    }

    @SuppressWarnings("unchecked")
    default T setInputCol(String value) {
        set(inputCol(), value);
        return (T) this;
    }
}
