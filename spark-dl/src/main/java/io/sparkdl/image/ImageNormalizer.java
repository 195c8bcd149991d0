package io.sparkdl.image;

import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Fits per-channel mean and standard deviation of pixel values (read in [0, 1]) on a training set. The
 * {@link ImageNormalizerModel} it returns applies them to any set: it marks the image column with the
 * normalisation, which {@link io.sparkdl.classification.CnnClassifier} applies while it trains and keeps
 * in its model, and with {@code outputCol} set it also writes the standardised pixels as a vector.
 *
 * <p>Channels are counted in network order (gray, or R, G, B); each image is read at its own size, and
 * colour or gray images are converted to {@code channels} first. Null and undecodable images are skipped.
 */
public class ImageNormalizer extends Estimator<ImageNormalizerModel> implements ImageNormalizerParams<ImageNormalizer>,
        MLWritable {
    private final String uid;
    private final DeclaredParams declared;

    public ImageNormalizer() {
        this(Identifiable$.MODULE$.randomUID("imageNormalizer"));
    }

    public ImageNormalizer(String uid) {
        this.uid = uid;
        declared = ImageNormalizerParams.declare(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public ImageNormalizerModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<Row> images = dataset.toDF().select(col(getInputCol())).where(col(getInputCol()).isNotNull());
        int c = getChannels();
        if (c == 0) {
            List<Row> first = images.limit(1).collectAsList();
            if (first.isEmpty()) {
                throw new IllegalArgumentException("ImageNormalizer: column " + getInputCol() + " has no image");
            }
            c = first.get(0).getStruct(0).getInt(3) == 1 ? 1 : 3;
        }
        int nc = c;
        double[] zero = new double[3 * nc];
        double[] sums = images.javaRDD().aggregate(zero, (acc, r) -> {
            ImageCodec.Pixels px;
            try {
                px = ImageStruct.pixels(r.getStruct(0));
            } catch (ImageCodec.DecodeException e) {
                return acc;
            }
            int hw = px.height() * px.width();
            byte[] planar = ImageCodec.toPlanar(px, nc, px.height(), px.width());
            for (int ch = 0; ch < nc; ch++) {
                double s = 0;
                double sq = 0;
                for (int k = ch * hw; k < (ch + 1) * hw; k++) {
                    double v = (planar[k] & 0xff) / 255.0;
                    s += v;
                    sq += v * v;
                }
                acc[ch] += s;
                acc[nc + ch] += sq;
                acc[2 * nc + ch] += hw;
            }
            return acc;
        }, (a, b) -> {
            for (int i = 0; i < a.length; i++) {
                a[i] += b[i];
            }
            return a;
        });
        if (sums[2 * nc] == 0) {
            throw new IllegalArgumentException("ImageNormalizer: column " + getInputCol() + " has no decodable image");
        }
        double[] mean = new double[nc];
        double[] std = new double[nc];
        for (int ch = 0; ch < nc; ch++) {
            double n = sums[2 * nc + ch];
            mean[ch] = sums[ch] / n;
            double var = Math.max(0, sums[nc + ch] / n - mean[ch] * mean[ch]);
            // a constant channel would divide by zero: leave its spread as it is
            std[ch] = var > 1e-12 ? Math.sqrt(var) : 1.0;
        }
        ImageNormalizerModel m = new ImageNormalizerModel(uid, new Normalization(mean, std));
        copyValues(m, ParamMap.empty());
        m.set(m.channels(), nc);
        m.setParent(this);
        return m;
    }

    @Override
    public ImageNormalizer copy(ParamMap extra) {
        return (ImageNormalizer) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<ImageNormalizer> read() {
        return SparkMLInternals.paramsReader();
    }

    public static ImageNormalizer load(String path) {
        return read().load(path);
    }
}
