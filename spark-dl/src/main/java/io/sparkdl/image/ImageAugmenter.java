package io.sparkdl.image;

import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.SharedParams;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Seeded random augmentation of training images. Every setting is a range and off by default: rotation,
 * translation, rescaling, horizontal/vertical flip, shear, stretch, brightness and contrast (see
 * {@link Augmentation} for what each value means).
 *
 * <p>Used in a {@code Pipeline} before {@link io.sparkdl.classification.CnnClassifier}, it acts only while
 * fitting: {@code transform} marks the image column with the augmentation (column metadata; pixels
 * untouched), and the classifier draws fresh augmented versions of each training image every epoch,
 * reproducible for its seed. The fitted model never augments, so the same pipeline predicts on clean
 * images. With {@code outputCol} set, {@code transform} also writes one augmented copy of each image
 * (drawn from {@code seed} and the image's pixels), to look at or to enlarge a data set once.
 */
public class ImageAugmenter extends Transformer implements HasInputCol<ImageAugmenter>, HasOutputCol<ImageAugmenter>,
        HasSeed<ImageAugmenter>, MLWritable {
    private final String uid;
    private final DeclaredParams declared;
    private final DoubleParam rotate;
    private final DoubleParam translate;
    private final DoubleParam rescale;
    private final DoubleParam stretch;
    private final DoubleParam shear;
    private final Param<String> flip;
    private final DoubleParam brightness;
    private final DoubleParam contrast;

    public ImageAugmenter() {
        this(Identifiable$.MODULE$.randomUID("imageAugmenter"));
    }

    public ImageAugmenter(String uid) {
        this.uid = uid;
        declared = new DeclaredParams(this);
        HasInputCol.declare(declared, "Image struct column.", "image");
        HasOutputCol.declare(declared, "Optional image column for one augmented copy of each image; empty: only mark "
                + "the input column for CnnClassifier.", "");
        HasSeed.declare(declared, "Seed for outputCol's augmented copies.");
        rotate = range("rotate", "Rotation: an angle in [-rotate, rotate] degrees.", 180);
        translate = range("translate", "Translation: up to this fraction of the width and of the height.", 1);
        rescale = range("rescale", "Rescaling: a zoom factor in [1-rescale, 1+rescale].", 0.9);
        stretch = range("stretch", "Stretch: independent zoom factors along x and y in [1-stretch, 1+stretch].", 0.9);
        shear = range("shear", "Shear: an angle in [-shear, shear] degrees.", 60);
        flip = SharedParams.choice(this, "flip", "Mirroring, each with probability 1/2.", "none", "horizontal",
                "vertical", "both");
        brightness = range("brightness", "Brightness: a value in [-brightness, brightness] added (pixels in [0, 1]).",
                1);
        contrast = range("contrast", "Contrast: the distance from the image mean scaled by [1-contrast, 1+contrast].",
                1);
        setDefault(flip, "none");
    }

    private DoubleParam range(String name, String doc, double max) {
        DoubleParam p = new DoubleParam(this, name, doc + " In [0, " + max + "]; 0 is off.",
                SharedParams.<Object>validator(v -> (Double) v >= 0 && (Double) v <= max));
        setDefault(p, 0.0);
        return p;
    }

    /** An augmenter with the settings of an {@link Augmentation} spec ({@code rotate=10,flip=horizontal}). */
    public static ImageAugmenter fromSpec(String spec) {
        Augmentation a = Augmentation.parse(spec);
        ImageAugmenter aug = new ImageAugmenter();
        if (!a.isNone()) {
            for (String part : a.spec().split(",")) {
                String[] kv = part.split("=", 2);
                if (kv[0].equals("flip")) {
                    aug.set(aug.flip, kv[1]);
                } else {
                    aug.set(aug.getParam(kv[0]), Double.parseDouble(kv[1]));
                }
            }
        }
        return aug;
    }

    /** The settings as an {@link Augmentation}. */
    public Augmentation augmentation() {
        StringBuilder sb = new StringBuilder();
        for (DoubleParam p : new DoubleParam[]{rotate, translate, rescale, stretch, shear, brightness, contrast}) {
            double v = (Double) $(p);
            if (v > 0) {
                sb.append(sb.length() == 0 ? "" : ",").append(p.name()).append('=').append(v);
            }
        }
        if (!getFlip().equals("none")) {
            sb.append(sb.length() == 0 ? "" : ",").append("flip=").append(getFlip());
        }
        return Augmentation.parse(sb.toString());
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public DoubleParam rotate() { return rotate; }
    public DoubleParam translate() { return translate; }
    public DoubleParam rescale() { return rescale; }
    public DoubleParam stretch() { return stretch; }
    public DoubleParam shear() { return shear; }
    public Param<String> flip() { return flip; }
    public DoubleParam brightness() { return brightness; }
    public DoubleParam contrast() { return contrast; }
    public double getRotate() { return (Double) $(rotate); }
    public double getTranslate() { return (Double) $(translate); }
    public double getRescale() { return (Double) $(rescale); }
    public double getStretch() { return (Double) $(stretch); }
    public double getShear() { return (Double) $(shear); }
    public String getFlip() { return $(flip); }
    public double getBrightness() { return (Double) $(brightness); }
    public double getContrast() { return (Double) $(contrast); }
    public ImageAugmenter setRotate(double v) { set(rotate, v); return this; }
    public ImageAugmenter setTranslate(double v) { set(translate, v); return this; }
    public ImageAugmenter setRescale(double v) { set(rescale, v); return this; }
    public ImageAugmenter setStretch(double v) { set(stretch, v); return this; }
    public ImageAugmenter setShear(double v) { set(shear, v); return this; }
    public ImageAugmenter setFlip(String v) { set(flip, v); return this; }
    public ImageAugmenter setBrightness(double v) { set(brightness, v); return this; }
    public ImageAugmenter setContrast(double v) { set(contrast, v); return this; }

    @Override
    public StructType transformSchema(StructType schema) {
        StructField f = ImageStruct.requireColumn(schema, getInputCol(), "Input");
        StructField[] fields = schema.fields().clone();
        int i = schema.fieldIndex(getInputCol());
        fields[i] = new StructField(f.name(), f.dataType(), f.nullable(),
                ImageMetadata.withAugmentation(f.metadata(), augmentation()));
        StructType out = new StructType(fields);
        if (!getOutputCol().isEmpty()) {
            SharedParams.requireAbsent(schema, getOutputCol(), "Output");
            out = out.add(getOutputCol(), f.dataType(), true);
        }
        return out;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType schema = transformSchema(dataset.schema());
        String in = getInputCol();
        Dataset<Row> df = dataset.toDF();
        if (!getOutputCol().isEmpty()) {
            Augmentation a = augmentation();
            long s = getSeed();
            UserDefinedFunction f = udf((UDF1<Row, Row>) r -> r == null ? null : augmentOne(r, a, s),
                    schema.apply(in).dataType());
            df = df.withColumn(getOutputCol(), f.apply(col(in)));
        }
        return df.withColumn(in, col(in).as(in, schema.apply(in).metadata()));
    }

    /** One augmented copy of an image struct, same size and channels, drawn from seed and its pixels. */
    static Row augmentOne(Row r, Augmentation a, long seed) {
        ImageCodec.Pixels px;
        try {
            px = ImageStruct.pixels(r);
        } catch (ImageCodec.DecodeException e) {
            return null;
        }
        int c = px.channels();
        int h = px.height();
        int w = px.width();
        byte[] planar = ImageCodec.toPlanar(px, c, h, w);
        float[] out = new float[planar.length];
        SplittableRandom rnd = Augmentation.random(seed, Arrays.hashCode(px.data()));
        a.apply(planar, 0, c, h, w, out, 0, rnd);
        byte[] data = new byte[out.length];
        int hw = h * w;
        for (int ch = 0; ch < c; ch++) {
            // planar R, G, B back to Spark's interleaved B, G, R
            int dstCh = c == 3 ? 2 - ch : ch;
            for (int k = 0; k < hw; k++) {
                data[k * c + dstCh] = (byte) Math.round(out[ch * hw + k] * 255f);
            }
        }
        return ImageStruct.toRow(r.isNullAt(0) ? "" : r.getString(0), new ImageCodec.Pixels(h, w, c, data));
    }

    @Override
    public ImageAugmenter copy(ParamMap extra) {
        return (ImageAugmenter) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<ImageAugmenter> read() {
        return SparkMLInternals.paramsReader();
    }

    public static ImageAugmenter load(String path) {
        return read().load(path);
    }
}
