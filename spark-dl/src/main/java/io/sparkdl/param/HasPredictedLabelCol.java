package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code predictedLabelCol}: the predicted class-name column. */
public interface HasPredictedLabelCol<T extends HasPredictedLabelCol<T>> extends StageParams {
    /** Declares {@code predictedLabelCol} with the stage's own doc and default (the column it writes depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("predictedLabelCol", doc, defaultValue);
    }

    default Param<String> predictedLabelCol() {
        return declared().get("predictedLabelCol");
    }

    default String getPredictedLabelCol() {
        return $(predictedLabelCol());
    }

    @SuppressWarnings("unchecked")
    default T setPredictedLabelCol(String value) {
        set(predictedLabelCol(), value);
        return (T) this;
    }
}
