package io.sparkdl.train;

import io.sparkdl.image.ImageStruct;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.StructType;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.xxhash64;

/**
 * Which rows are held out for validation: a seeded hash of each row's content (an image's pixels, or a
 * vector, and its label) against the fraction. Unlike {@code Dataset.randomSplit}, the choice does not
 * depend on the order or partitioning of the rows, nor on where the files sit: the same images and seed
 * give the same split on every run, from any folder, on any cluster. Identical images land on the same side,
 * so a duplicated image cannot be in both sets.
 */
public final class ValidationSplit {
    private static final long BUCKETS = 1_000_000L;

    private ValidationSplit() {
    }

    /** A boolean column, true for about {@code fraction} of the rows. */
    public static Column isValidation(StructType schema, String featuresCol, String labelCol, double fraction,
                                      long seed) {
        if (!(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1) but was " + fraction);
        }
        Column content = ImageStruct.isImageStruct(schema.apply(featuresCol).dataType())
                ? col(featuresCol).getField("data") : col(featuresCol);
        return pmod(xxhash64(content, col(labelCol), lit(seed)), lit(BUCKETS)).lt(lit((long) (fraction * BUCKETS)));
    }
}
