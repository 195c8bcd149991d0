package io.sparkdl.ensemble;

import io.sparkdl.image.ImageStruct;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasCombination;
import io.sparkdl.param.HasFeaturesCol;
import io.sparkdl.param.HasPredictedLabelCol;
import io.sparkdl.param.HasPredictionCol;
import io.sparkdl.param.HasProbabilityCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The params {@link EnsembleClassifier} and {@link EnsembleClassifierModel} share, and the schema both check. */
public interface EnsembleClassifierParams<T extends EnsembleClassifierParams<T>> extends HasFeaturesCol<T>,
        HasProbabilityCol<T>, HasPredictionCol<T>, HasPredictedLabelCol<T>, HasCombination<T> {

    static DeclaredParams declare(Params owner) {
        DeclaredParams d = new DeclaredParams(owner);
        HasFeaturesCol.declare(d, "Image struct column (every member reads it).", "image");
        HasProbabilityCol.declare(d, "Combined probability vector column.", "probability");
        HasPredictionCol.declare(d, "Combined class index column.", "prediction");
        HasPredictedLabelCol.declare(d, "Combined class name column.", "predictedLabel");
        HasCombination.declare(d);
        return d;
    }

    /** Checks the image column and adds the three combined output columns. */
    default StructType validateAndTransformSchema(StructType schema) {
        ImageStruct.requireColumn(schema, getFeaturesCol(), "Features");
        return SharedParams.addOutputs(schema,
                new String[]{getProbabilityCol(), getPredictionCol(), getPredictedLabelCol()},
                new DataType[]{SQLDataTypes.VectorType(), DataTypes.DoubleType, DataTypes.StringType});
    }
}
