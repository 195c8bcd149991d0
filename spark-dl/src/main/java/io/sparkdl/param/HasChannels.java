package io.sparkdl.param;

import org.apache.spark.ml.param.IntParam;

/** Shared param {@code channels}: image channels (1 gray, 3 colour; 0: from the data). Name, type, validation and default are fixed here. */
public interface HasChannels<T extends HasChannels<T>> extends StageParams {
    /** Declares {@code channels}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.intParam("channels", doc + " 1 gray, 3 colour; 0 takes it from the data.", v -> v == 0 || v == 1 || v == 3, 0);
    }

    default IntParam channels() {
        return declared().get("channels");
    }

    default int getChannels() {
        return (Integer) $(channels());
    }

    @SuppressWarnings("unchecked")
    default T setChannels(int value) {
        set(channels(), value);
        return (T) this;
    }
}
