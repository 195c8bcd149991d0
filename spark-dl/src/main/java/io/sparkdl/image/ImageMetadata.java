package io.sparkdl.image;

import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructField;

/**
 * What {@link ImageNormalizerModel} and {@link ImageAugmenter} leave on an image column for the stages
 * after them: Spark column metadata under the key {@code sparkdl}. The pixels stay uint8, so a data set
 * is never copied as floats; {@link io.sparkdl.classification.CnnClassifier} standardises and augments
 * while it builds minibatches, and the model it fits keeps the normalisation.
 */
public final class ImageMetadata {
    public static final String KEY = "sparkdl";

    private ImageMetadata() {
    }

    /** The column's normalisation, or null. */
    public static Normalization normalization(StructField f) {
        Metadata m = sub(f.metadata());
        if (m == null || !m.contains("normalizationMean")) {
            return null;
        }
        return new Normalization(m.getDoubleArray("normalizationMean"), m.getDoubleArray("normalizationStd"));
    }

    /** The column's augmentation, or {@link Augmentation#NONE}. */
    public static Augmentation augmentation(StructField f) {
        Metadata m = sub(f.metadata());
        return m == null || !m.contains("augmentation") ? Augmentation.NONE
                : Augmentation.parse(m.getString("augmentation"));
    }

    /** {@code existing} with the normalisation set. */
    public static Metadata withNormalization(Metadata existing, Normalization n) {
        MetadataBuilder b = subBuilder(existing);
        b.putDoubleArray("normalizationMean", n.mean()).putDoubleArray("normalizationStd", n.std());
        return put(existing, b);
    }

    /** {@code existing} with the augmentation set (removed for none). */
    public static Metadata withAugmentation(Metadata existing, Augmentation a) {
        MetadataBuilder b = subBuilder(existing);
        if (a.isNone()) {
            b.remove("augmentation");
        } else {
            b.putString("augmentation", a.spec());
        }
        return put(existing, b);
    }

    private static Metadata sub(Metadata m) {
        return m.contains(KEY) ? m.getMetadata(KEY) : null;
    }

    private static MetadataBuilder subBuilder(Metadata existing) {
        MetadataBuilder b = new MetadataBuilder();
        Metadata s = sub(existing);
        if (s != null) {
            b.withMetadata(s);
        }
        return b;
    }

    private static Metadata put(Metadata existing, MetadataBuilder sub) {
        return new MetadataBuilder().withMetadata(existing).putMetadata(KEY, sub.build()).build();
    }
}
