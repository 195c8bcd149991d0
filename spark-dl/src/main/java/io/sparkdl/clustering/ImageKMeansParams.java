package io.sparkdl.clustering;

import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasFeaturesCol;
import io.sparkdl.param.HasPredictionCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The params {@link ImageKMeans} and {@link ImageKMeansModel} share, and the schema both check. */
public interface ImageKMeansParams<T extends ImageKMeansParams<T>> extends HasFeaturesCol<T>, HasPredictionCol<T> {

    static DeclaredParams declare(Params owner) {
        DeclaredParams d = new DeclaredParams(owner);
        HasFeaturesCol.declare(d, "ML vector or image struct column to cluster.", "features");
        HasPredictionCol.declare(d, "Cluster index column.", "cluster");
        d.column("distanceCol", "Euclidean distance to the row's cluster centre.", "distance");
        return d;
    }

    default Param<String> distanceCol() {
        return declared().get("distanceCol");
    }

    default String getDistanceCol() {
        return $(distanceCol());
    }

    @SuppressWarnings("unchecked")
    default T setDistanceCol(String value) {
        set(distanceCol(), value);
        return (T) this;
    }

    /** Checks the features column (vector or image) and adds the cluster index and distance columns. */
    default StructType validateAndTransformSchema(StructType schema) {
        RowBlocks.requireVectorOrImage(schema, getFeaturesCol(), "Features");
        SharedParams.requireAbsent(schema, getPredictionCol(), "Prediction");
        SharedParams.requireAbsent(schema, getDistanceCol(), "Distance");
        return schema.add(getPredictionCol(), DataTypes.IntegerType, true).add(getDistanceCol(), DataTypes.DoubleType,
                true);
    }
}
