package io.sparkdl.train;

/** Training produced a non-finite loss or weights; the message names the epoch and round. */
public final class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    TrainingDivergedException(String message) {
        super(message);
    }
}
