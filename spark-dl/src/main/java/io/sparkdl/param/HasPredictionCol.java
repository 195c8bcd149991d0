package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code predictionCol}: the predicted class (or cluster) index column, a double as MLlib's evaluators expect. */
public interface HasPredictionCol<T extends HasPredictionCol<T>> extends StageParams {
    /** Declares {@code predictionCol} with the stage's own doc and default (the column it writes depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("predictionCol", doc, defaultValue);
    }

    default Param<String> predictionCol() {
        return declared().get("predictionCol");
    }

    default String getPredictionCol() {
        return $(predictionCol());
    }

    @SuppressWarnings("unchecked")
    default T setPredictionCol(String value) {
        set(predictionCol(), value);
        return (T) this;
    }
}
