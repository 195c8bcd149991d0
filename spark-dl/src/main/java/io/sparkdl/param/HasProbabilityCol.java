package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code probabilityCol}: the class-probability vector column. */
public interface HasProbabilityCol<T extends HasProbabilityCol<T>> extends StageParams {
    /** Declares {@code probabilityCol} with the stage's own doc and default (the column it writes depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("probabilityCol", doc, defaultValue);
    }

    default Param<String> probabilityCol() {
        return declared().get("probabilityCol");
    }

    default String getProbabilityCol() {
        return $(probabilityCol());
    }

    @SuppressWarnings("unchecked")
    default T setProbabilityCol(String value) {
        set(probabilityCol(), value);
        return (T) this;
    }
}
