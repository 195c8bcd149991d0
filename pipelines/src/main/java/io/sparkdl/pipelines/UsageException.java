package io.sparkdl.pipelines;

/** A bad command line or pipeline definition; the message is printed as the one error line and the exit code is 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
