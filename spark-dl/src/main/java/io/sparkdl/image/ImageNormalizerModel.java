package io.sparkdl.image;

import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Per-channel mean and standard deviation fitted by {@link ImageNormalizer}. {@code transform} marks the
 * image column with them (column metadata read by {@link io.sparkdl.classification.CnnClassifier}; the
 * pixels are untouched) and, with {@code outputCol} set, adds the standardised pixels as a vector
 * (channel-planar, each image at its own size, null for a null or undecodable image).
 */
public class ImageNormalizerModel extends Model<ImageNormalizerModel>
        implements ImageNormalizerParams<ImageNormalizerModel>, MLWritable {
    private final String uid;
    private final Normalization normalization;
    private final DeclaredParams declared;

    public ImageNormalizerModel(String uid, Normalization normalization) {
        this.uid = uid;
        this.normalization = normalization;
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

    /** The fitted per-channel statistics. */
    public Normalization normalization() {
        return normalization;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        if (getChannels() != 0 && getChannels() != normalization.channels()) {
            throw new IllegalArgumentException("ImageNormalizerModel " + uid + ": channels is " + getChannels()
                    + " but the statistics were fitted on " + normalization.channels());
        }
        StructType out = validateAndTransformSchema(schema);
        StructField[] fields = out.fields().clone();
        int i = out.fieldIndex(getInputCol());
        StructField f = fields[i];
        fields[i] = new StructField(f.name(), f.dataType(), f.nullable(),
                ImageMetadata.withNormalization(f.metadata(), normalization));
        return new StructType(fields);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType schema = transformSchema(dataset.schema());
        String in = getInputCol();
        Dataset<Row> df = dataset.toDF();
        if (!getOutputCol().isEmpty()) {
            Normalization n = normalization;
            int c = n.channels();
            UserDefinedFunction f = udf((UDF1<Row, Vector>) r -> {
                if (r == null) {
                    return null;
                }
                ImageCodec.Pixels px;
                try {
                    px = ImageStruct.pixels(r);
                } catch (ImageCodec.DecodeException e) {
                    return null;
                }
                float[] x = Normalization.toInput(ImageCodec.toPlanar(px, c, px.height(), px.width()), c,
                        px.height() * px.width(), n);
                double[] d = new double[x.length];
                for (int k = 0; k < d.length; k++) {
                    d[k] = x[k];
                }
                return Vectors.dense(d);
            }, SQLDataTypes.VectorType());
            df = df.withColumn(getOutputCol(), f.apply(col(in)));
        }
        Column tagged = col(in).as(in, schema.apply(in).metadata());
        return df.withColumn(in, tagged);
    }

    @Override
    public ImageNormalizerModel copy(ParamMap extra) {
        return copyValues(new ImageNormalizerModel(uid, normalization), extra).setParent(parent());
    }

    // ---- persistence: metadata/ (params), data/normalization.bin (mean, std)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(ImageNormalizerModel.this, path, spark.sparkContext());
                HadoopFiles.writeArrays(path + "/data/normalization.bin", spark.sparkContext().hadoopConfiguration(),
                        normalization.mean(), normalization.std());
            }
        };
    }

    public static MLReader<ImageNormalizerModel> read() {
        return new MLReader<>() {
            @Override
            public ImageNormalizerModel load(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                        ImageNormalizerModel.class);
                String file = path + "/data/normalization.bin";
                double[][] a = HadoopFiles.readArrays(file, spark.sparkContext().hadoopConfiguration());
                HadoopFiles.require(a.length == 2 && a[0].length == a[1].length && a[0].length > 0, file,
                        "a mean and a standard deviation per channel");
                ImageNormalizerModel m = new ImageNormalizerModel(meta.uid(), new Normalization(a[0], a[1]));
                meta.applyParams(m);
                return m;
            }
        };
    }

    public static ImageNormalizerModel load(String path) {
        return read().load(path);
    }
}
