package io.sparkdl.param;

import org.apache.spark.ml.param.DoubleParam;

/** Shared param {@code validationFraction}: the share of the data held out for validation. Name, type, validation and default are fixed here. */
public interface HasValidationFraction<T extends HasValidationFraction<T>> extends StageParams {
    /** Declares {@code validationFraction}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.doubleParam("validationFraction", doc + " In [0, 1); 0: no validation split.", v -> v >= 0 && v < 1, 0.0);
    }

    default DoubleParam validationFraction() {
        return declared().get("validationFraction");
    }

    default double getValidationFraction() {
        return (Double) $(validationFraction());
    }

    @SuppressWarnings("unchecked")
    default T setValidationFraction(double value) {
        set(validationFraction(), value);
        return (T) this;
    }
}
