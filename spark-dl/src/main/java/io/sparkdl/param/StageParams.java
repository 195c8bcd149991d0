package io.sparkdl.param;

import org.apache.spark.ml.param.Params;

/** A stage whose params live in a {@link DeclaredParams}; the base of the shared param interfaces. */
public interface StageParams extends Params {
    /** The params this stage declared (the shared interfaces' accessors read them from here). */
    DeclaredParams declared();
}
