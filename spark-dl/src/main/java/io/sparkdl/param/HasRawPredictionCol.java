package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code rawPredictionCol}: the raw score (log-probability) vector column. */
public interface HasRawPredictionCol<T extends HasRawPredictionCol<T>> extends StageParams {
    /** Declares {@code rawPredictionCol} with the stage's own doc and default (the column it writes depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("rawPredictionCol", doc, defaultValue);
    }

    default Param<String> rawPredictionCol() {
        return declared().get("rawPredictionCol");
    }

    default String getRawPredictionCol() {
        return $(rawPredictionCol());
    }

    @SuppressWarnings("unchecked")
    default T setRawPredictionCol(String value) {
        set(rawPredictionCol(), value);
        return (T) this;
    }
}
