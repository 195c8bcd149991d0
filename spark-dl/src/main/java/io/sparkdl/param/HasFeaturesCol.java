package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code featuresCol}: the column a predictor or clusterer reads. */
public interface HasFeaturesCol<T extends HasFeaturesCol<T>> extends StageParams {
    /** Declares {@code featuresCol} with the stage's own doc and default (the column it reads depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("featuresCol", doc, defaultValue);
    }

    default Param<String> featuresCol() {
        return declared().get("featuresCol");
    }

    default String getFeaturesCol() {
        return $(featuresCol());
    }

    @SuppressWarnings("unchecked")
    default T setFeaturesCol(String value) {
        set(featuresCol(), value);
        return (T) this;
    }
}
