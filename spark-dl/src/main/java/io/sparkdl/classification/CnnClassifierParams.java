package io.sparkdl.classification;

import io.sparkdl.image.ImageStruct;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasEngine;
import io.sparkdl.param.HasFeaturesCol;
import io.sparkdl.param.HasLabelCol;
import io.sparkdl.param.HasPredictedLabelCol;
import io.sparkdl.param.HasPredictionCol;
import io.sparkdl.param.HasProbabilityCol;
import io.sparkdl.param.HasRawPredictionCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The params {@link CnnClassifier} and {@link CnnClassifierModel} share (as MLlib's {@code PCAParams} serves
 * {@code PCA} and {@code PCAModel}): the image and label columns, the four output columns and the engine (the
 * model keeps the one it was trained on; set it on a model to switch), declared once here, and the schema both
 * check.
 */
public interface CnnClassifierParams<T extends CnnClassifierParams<T>> extends HasFeaturesCol<T>, HasLabelCol<T>,
        HasPredictionCol<T>, HasProbabilityCol<T>, HasRawPredictionCol<T>, HasPredictedLabelCol<T>, HasEngine<T> {

    /** Declares the shared params on {@code owner} (its uid set) and returns its param holder. */
    static DeclaredParams declare(Params owner) {
        DeclaredParams d = new DeclaredParams(owner);
        HasFeaturesCol.declare(d, "Image struct column (ImageDecoder output or Spark's image source).", "image");
        HasLabelCol.declare(d, "Label column: class names (string) or indices (integer); fit reads it, "
                + "transform does not.", "label");
        HasPredictionCol.declare(d, "Predicted class index column.", "prediction");
        HasProbabilityCol.declare(d, "Class probability vector column.", "probability");
        HasRawPredictionCol.declare(d, "Log-probability vector column.", "rawPrediction");
        HasPredictedLabelCol.declare(d, "Predicted class name column.", "predictedLabel");
        HasEngine.declare(d);
        return d;
    }

    /** Checks the image column and adds the four output columns (null where a row has no image). */
    default StructType validateAndTransformSchema(StructType schema) {
        ImageStruct.requireColumn(schema, getFeaturesCol(), "Features");
        return SharedParams.addOutputs(schema,
                new String[]{getRawPredictionCol(), getProbabilityCol(), getPredictionCol(), getPredictedLabelCol()},
                new DataType[]{SQLDataTypes.VectorType(), SQLDataTypes.VectorType(), DataTypes.DoubleType,
                    DataTypes.StringType});
    }
}
