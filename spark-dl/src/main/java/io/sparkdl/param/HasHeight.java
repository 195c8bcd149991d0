package io.sparkdl.param;

import org.apache.spark.ml.param.IntParam;

/** Shared param {@code height}: image height in pixels (0: from the data). Name, type, validation and default are fixed here. */
public interface HasHeight<T extends HasHeight<T>> extends StageParams {
    /** Declares {@code height}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.intParam("height", doc + " In [0, " + io.sparkdl.nn.NetworkSpec.MAX_SIDE + "]; 0 takes it from the data.",
                v -> v >= 0 && v <= io.sparkdl.nn.NetworkSpec.MAX_SIDE, 0);
    }

    default IntParam height() {
        return declared().get("height");
    }

    default int getHeight() {
        return (Integer) $(height());
    }

    @SuppressWarnings("unchecked")
    default T setHeight(int value) {
        set(height(), value);
        return (T) this;
    }
}
