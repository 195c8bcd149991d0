package io.sparkdl.param;

import org.apache.spark.ml.param.IntParam;

/** Shared param {@code inferenceBatchSize}: images per forward pass when a trained network is applied. Name, type, validation and default are fixed here. */
public interface HasInferenceBatchSize<T extends HasInferenceBatchSize<T>> extends StageParams {
    /** Declares {@code inferenceBatchSize}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.intParam("inferenceBatchSize", doc + " (>= 1).", v -> v >= 1, 256);
    }

    default IntParam inferenceBatchSize() {
        return declared().get("inferenceBatchSize");
    }

    default int getInferenceBatchSize() {
        return (Integer) $(inferenceBatchSize());
    }

    @SuppressWarnings("unchecked")
    default T setInferenceBatchSize(int value) {
        set(inferenceBatchSize(), value);
        return (T) this;
    }
}
