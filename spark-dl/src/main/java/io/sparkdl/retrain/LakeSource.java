package io.sparkdl.retrain;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.List;

/**
 * Where a {@link Retrainer} finds its training data: a lake split into date partitions that arrive over
 * time. {@link DateLake} reads the two layouts spark-dl supports (a folder tree and a Parquet table);
 * implement this to plug in another source.
 */
public interface LakeSource {

    /**
     * The partitions, as real dates {@code YYYY-MM-DD} sorted oldest first. Throws
     * IllegalArgumentException naming the partition when one is not a real date, so that a bad name can
     * never become the registry's watermark.
     */
    List<String> partitions();

    /**
     * The rows of the given partitions as {@link io.sparkdl.image.ImageSources#readFolder} gives them:
     * {@code path} (string), {@code label} (class name) and {@code content} (the encoded image bytes).
     */
    Dataset<Row> read(List<String> partitions);

    /** Where the data comes from, for logs and error messages. */
    String describe();
}
