package io.sparkdl.clustering;

import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.StructType;

/**
 * The params {@link ImagePCA} and {@link ImagePCAModel} share, and the schema both check. {@code centering}
 * is fixed by the fit (the model has no setter); {@code whitening} may be changed on the model.
 */
public interface ImagePCAParams<T extends ImagePCAParams<T>> extends HasInputCol<T>, HasOutputCol<T> {

    static DeclaredParams declare(Params owner) {
        DeclaredParams d = new DeclaredParams(owner);
        HasInputCol.declare(d, "ML vector or image struct column.", "features");
        HasOutputCol.declare(d, "Projection (k principal-component scores) column.", "pca");
        d.add(new BooleanParam(owner, "centering", "Subtract the mean before projecting (standard PCA)."), true);
        d.add(new BooleanParam(owner, "whitening", "Scale each score to unit variance."), false);
        return d;
    }

    default BooleanParam centering() {
        return declared().get("centering");
    }

    default BooleanParam whitening() {
        return declared().get("whitening");
    }

    default boolean getCentering() {
        return (Boolean) $(centering());
    }

    default boolean getWhitening() {
        return (Boolean) $(whitening());
    }

    @SuppressWarnings("unchecked")
    default T setWhitening(boolean value) {
        set(whitening(), value);
        return (T) this;
    }

    /** Checks the input column (vector or image) and adds the scores column. */
    default StructType validateAndTransformSchema(StructType schema) {
        String out = SharedParams.requireName(getOutputCol(), "outputCol", this);
        RowBlocks.requireVectorOrImage(schema, getInputCol(), "Input");
        SharedParams.requireAbsent(schema, out, "Output");
        return schema.add(out, SQLDataTypes.VectorType(), true);
    }
}
