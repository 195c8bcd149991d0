package io.sparkdl.image;

import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasChannels;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.StructType;

/** The params {@link ImageNormalizer} and {@link ImageNormalizerModel} share, and the schema both check. */
public interface ImageNormalizerParams<T extends ImageNormalizerParams<T>> extends HasInputCol<T>, HasOutputCol<T>,
        HasChannels<T> {

    static DeclaredParams declare(Params owner) {
        DeclaredParams d = new DeclaredParams(owner);
        HasInputCol.declare(d, "Image struct column.", "image");
        HasOutputCol.declare(d, "Optional vector column for the standardised pixels (channel-planar); empty: the "
                + "image column only carries the normalisation in its metadata.", "");
        HasChannels.declare(d, "Channels the statistics are (or were) fitted on.");
        return d;
    }

    /** Checks the image column and adds the optional vector column. */
    default StructType validateAndTransformSchema(StructType schema) {
        ImageStruct.requireColumn(schema, getInputCol(), "Input");
        if (getOutputCol().isEmpty()) {
            return schema;
        }
        SharedParams.requireAbsent(schema, getOutputCol(), "Output");
        return schema.add(getOutputCol(), SQLDataTypes.VectorType(), true);
    }
}
