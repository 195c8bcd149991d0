package io.sparkdl.param;

import org.apache.spark.ml.param.IntParam;

/** Shared param {@code inferenceBatchSize}: images per forward pass when a trained network is applied. Name, type, validation and default are fixed here. */
public interface HasInferenceBatchSize<T extends HasInferenceBatchSize<T>> extends StageParams {
    /** Declares {@code inferenceBatchSize}; {@code doc} says what it means for the stage. */
    static void declare(DeclaredParams d, String doc) {
        d.intParam("inferenceBatchSize", doc + " (>= 1; fewer where that many would exceed 32 MiB of float "
                + "input: large images).", v -> v >= 1, 256);
    }

    /** At most this many bytes of float input per forward pass (large images: fewer images than asked). */
    long FORWARD_PASS_INPUT_BYTES = 32L << 20;

    /**
     * Images per forward pass: {@code inferenceBatchSize}, but no more than fit in
     * {@value #FORWARD_PASS_INPUT_BYTES} bytes of float input. A pass holds its input on the heap (and a copy
     * for the engine) besides the rows it came from: 256 images of 224x224x3 would be 154 MB each, enough to
     * run a 1 GB executor out of heap; 32 MiB is 55 such images, and images of up to 32,768 values (104x104x3,
     * 181x181x1) still go 256 at a time.
     *
     * @param shape height, width, channels
     */
    static int imagesPerForwardPass(int inferenceBatchSize, int[] shape) {
        long bytesPerImage = 4L * shape[0] * shape[1] * shape[2];
        return (int) Math.max(1, Math.min(inferenceBatchSize, FORWARD_PASS_INPUT_BYTES / Math.max(1, bytesPerImage)));
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
