package io.sparkdl.pipelines;

import picocli.CommandLine.Option;

/**
 * The options several commands share, each defined once as a picocli mixin (a command declares
 * {@code @Mixin final SharedOptions.Master master = new SharedOptions.Master();} and reads {@code master.value}),
 * so that its name, help text and meaning are the same on every command. The fields start initialised, so a
 * command built without parsing (a pipeline definition's evaluate step) reads the defaults.
 */
final class SharedOptions {
    private SharedOptions() {
    }

    /** {@code --master}: the Spark master of a command that starts Spark ({@link Jobs#session}). */
    static final class Master {
        @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark.master, else "
                + "local[*]).")
        String value;
    }

    /** {@code --overwrite}: whether outputs spark-dl wrote before may be replaced ({@link OutputPaths}). */
    static final class Overwrite {
        @Option(names = "--overwrite", description = "Replace outputs that spark-dl wrote before (never anything "
                + "else).")
        boolean value;
    }

    /** {@code --fail-on-bad-files}: whether a file that cannot be decoded fails the job ({@link Jobs#load}). */
    static final class FailOnBadFiles {
        @Option(names = "--fail-on-bad-files", description = "Fail on a file that cannot be decoded (default: go "
                + "on without it and list it under badFiles in the metrics).")
        boolean value;
    }

    /** {@code --metrics-json}: where the command's metrics are written ({@link Jobs#writeMetrics}). */
    static final class MetricsJson {
        @Option(names = "--metrics-json", paramLabel = "FILE", description = "Write the metrics as JSON.")
        String value;
    }

    /** {@code --report-dir}: where the command's HTML report is written. */
    static final class ReportDir {
        @Option(names = "--report-dir", paramLabel = "DIR", description = "Write an HTML report (index.html).")
        String value;
    }

    /** {@code --format}: the file format of a command's {@code --out} table. */
    static final class OutputFormat {
        @Option(names = "--format", paramLabel = "parquet|csv", description = "Format of --out (default: parquet).")
        String value = "parquet";

        /** The format, after checking it is one spark-dl writes. */
        String checked() {
            if (!value.equals("parquet") && !value.equals("csv")) {
                throw new UsageException("--format must be parquet or csv but was " + value);
            }
            return value;
        }
    }
}
