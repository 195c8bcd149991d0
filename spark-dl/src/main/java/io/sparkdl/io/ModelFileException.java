package io.sparkdl.io;

/**
 * A saved model file that spark-dl refuses to load: corrupt, truncated, of an unexpected size, or holding
 * something other than what spark-dl writes. The message names the file and, for a zip, the entry.
 */
public class ModelFileException extends RuntimeException {
    private final String path;
    private final String entry;

    public ModelFileException(String path, String entry, String problem, Throwable cause) {
        super("Cannot load " + path + (entry == null ? "" : " (entry '" + entry + "')") + ": " + problem, cause);
        this.path = path;
        this.entry = entry;
    }

    public ModelFileException(String path, String problem) {
        this(path, null, problem, null);
    }

    /** The file that was refused. */
    public String path() {
        return path;
    }

    /** The zip entry that was refused, or null. */
    public String entry() {
        return entry;
    }
}
