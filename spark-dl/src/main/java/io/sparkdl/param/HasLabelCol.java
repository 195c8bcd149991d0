package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/** Shared param {@code labelCol}: the label column: class names (string) or class indices (integer). */
public interface HasLabelCol<T extends HasLabelCol<T>> extends StageParams {
    /** Declares {@code labelCol} with the stage's own doc and default (the column it reads depends on the stage). */
    static void declare(DeclaredParams d, String doc, String defaultValue) {
        d.column("labelCol", doc, defaultValue);
    }

    default Param<String> labelCol() {
        return declared().get("labelCol");
    }

    default String getLabelCol() {
        return $(labelCol());
    }

    @SuppressWarnings("unchecked")
    default T setLabelCol(String value) {
        set(labelCol(), value);
        return (T) this;
    }
}
