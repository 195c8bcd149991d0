package io.sparkdl.param;

import org.apache.spark.ml.param.IntParam;

/** Shared param {@code width}: image width in pixels (0: from the data). Name, type, validation and default are fixed here. */
public interface HasWidth<T extends HasWidth<T>> extends StageParams {
    /** Declares {@code width}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.intParam("width", doc + " In [0, " + io.sparkdl.nn.NetworkSpec.MAX_SIDE + "]; 0 takes it from the data.",
                v -> v >= 0 && v <= io.sparkdl.nn.NetworkSpec.MAX_SIDE, 0);
    }

    default IntParam width() {
        return declared().get("width");
    }

    default int getWidth() {
        return (Integer) $(width());
    }

    @SuppressWarnings("unchecked")
    default T setWidth(int value) {
        set(width(), value);
        return (T) this;
    }
}
