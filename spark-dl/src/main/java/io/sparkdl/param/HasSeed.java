package io.sparkdl.param;

import org.apache.spark.ml.param.LongParam;

/** Shared param {@code seed}: a random seed (default 42). Name, type, validation and default are fixed here. */
public interface HasSeed<T extends HasSeed<T>> extends StageParams {
    /** Declares {@code seed}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.longParam("seed", doc, 42L);
    }

    default LongParam seed() {
        return declared().get("seed");
    }

    default long getSeed() {
        return (Long) $(seed());
    }

    @SuppressWarnings("unchecked")
    default T setSeed(long value) {
        set(seed(), value);
        return (T) this;
    }
}
