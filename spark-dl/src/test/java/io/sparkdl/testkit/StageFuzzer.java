package io.sparkdl.testkit;

import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

/**
 * What the save/load kit needs to exercise one stage: a configured instance (non-default params),
 * data to fit and transform, the output columns to compare and a key column to line rows up.
 */
public interface StageFuzzer {
    /** A configured stage (an Estimator or a Transformer). */
    PipelineStage stage();

    /** Stage classes this fuzzer covers: the stage's and, for an estimator, its model's. */
    List<Class<? extends PipelineStage>> covers();

    Dataset<Row> data(SparkSession spark);

    /** Output columns whose values must survive save/load unchanged. */
    List<String> outputColumns();

    /** A column that identifies rows, to compare outputs row by row. */
    String keyColumn();
}
