package io.sparkdl.image;

import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasChannels;
import io.sparkdl.param.HasHeight;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.HasWidth;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.Iterator;

/**
 * Decodes image bytes (JPEG, PNG, WebP, TIFF, BMP, GIF; see {@link ImageCodec}) or Spark image structs into
 * compact image structs: gray or colour, upright (EXIF orientation applied), in sRGB, optionally resized to
 * height x width. Values stay uint8 (0..255, read as [0,1] when
 * a minibatch is assembled), so a decoded image costs one byte per value, not eight.
 *
 * <p>Decoding is lazy (it runs when the result is used) and happens on executors. Undecodable rows are
 * handled by {@code handleInvalid}: {@code keep} (default) keeps them with a null image and the reason
 * in {@code errorCol}; {@code skip} drops them; {@code error} fails the job naming the file. Images whose
 * header declares more than {@code maxPixels} pixels are undecodable rows too, refused before decoding.
 */
public class ImageDecoder extends Transformer implements HasInputCol<ImageDecoder>, HasOutputCol<ImageDecoder>,
        HasHeight<ImageDecoder>, HasWidth<ImageDecoder>, HasChannels<ImageDecoder>, MLWritable {
    private final String uid;
    private final DeclaredParams declared;
    private final Param<String> pathCol;
    private final Param<String> errorCol;
    private final Param<String> handleInvalid;
    private final LongParam maxPixels;
    private final Param<String> outputFormat;

    public ImageDecoder() {
        this(Identifiable$.MODULE$.randomUID("imgdec"));
    }

    public ImageDecoder(String uid) {
        this.uid = uid;
        declared = new DeclaredParams(this);
        HasInputCol.declare(declared, "Column of encoded image bytes (binary) or Spark image structs.", "content");
        HasOutputCol.declare(declared, "Output image struct column.", "image");
        HasHeight.declare(declared, "Output height in pixels (0 keeps each image's own).");
        HasWidth.declare(declared, "Output width in pixels (0 keeps each image's own).");
        HasChannels.declare(declared, "Output channels (0 keeps the source's: gray stays gray).");
        pathCol = SharedParams.column(this, "pathCol",
                "Column naming each row's file; used as the image origin and in error messages (optional).");
        errorCol = SharedParams.column(this, "errorCol",
                "Column for the reason a row could not be decoded (handleInvalid=keep).");
        handleInvalid = SharedParams.choice(this, "handleInvalid",
                "What to do with rows that are not decodable images.", "keep", "skip", "error");
        maxPixels = new LongParam(this, "maxPixels", "Largest width x height an encoded image may declare; bigger "
                + "ones (decompression bombs) are undecodable rows, refused from the header before decoding.",
                SharedParams.<Object>validator(v -> (Long) v > 0));
        outputFormat = SharedParams.choice(this, "outputFormat",
                "'image': compact uint8 image struct (read as [0,1] when minibatches are assembled); 'vector': "
                        + "an ML vector of values scaled to [0,1], channel-planar RGB, for MLlib stages (8 bytes "
                        + "per value; needs height, width and channels).", "image", "vector");
        setDefault(outputFormat, "image");
        setDefault(pathCol, "path");
        setDefault(errorCol, "decodeError");
        setDefault(handleInvalid, "keep");
        setDefault(maxPixels, ImageCodec.DEFAULT_MAX_PIXELS);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public Param<String> pathCol() { return pathCol; }
    public Param<String> errorCol() { return errorCol; }
    public Param<String> handleInvalid() { return handleInvalid; }
    public LongParam maxPixels() { return maxPixels; }
    public Param<String> outputFormat() { return outputFormat; }

    public String getPathCol() { return $(pathCol); }
    public String getErrorCol() { return $(errorCol); }
    public String getHandleInvalid() { return $(handleInvalid); }
    public long getMaxPixels() { return (Long) $(maxPixels); }
    public String getOutputFormat() { return $(outputFormat); }

    public ImageDecoder setPathCol(String v) { set(pathCol, v); return this; }
    public ImageDecoder setErrorCol(String v) { set(errorCol, v); return this; }
    public ImageDecoder setHandleInvalid(String v) { set(handleInvalid, v); return this; }
    public ImageDecoder setMaxPixels(long v) { set(maxPixels, v); return this; }
    public ImageDecoder setOutputFormat(String v) { set(outputFormat, v); return this; }

    /** Sets height and width together. */
    public ImageDecoder setSize(int h, int w) { return setHeight(h).setWidth(w); }

    @Override
    public StructType transformSchema(StructType schema) {
        if ((getHeight() == 0) != (getWidth() == 0)) {
            throw new IllegalArgumentException("ImageDecoder: height and width must both be set or both be 0, but were "
                    + getHeight() + " and " + getWidth());
        }
        boolean vector = getOutputFormat().equals("vector");
        if (vector && (getHeight() == 0 || getChannels() == 0)) {
            throw new IllegalArgumentException("ImageDecoder: outputFormat 'vector' needs height, width and channels "
                    + "set, so that every vector has the same length");
        }
        SharedParams.requireName(getOutputCol(), "outputCol", this);
        StructField in = SharedParams.requireColumn(schema, getInputCol(), "Input");
        DataType t = in.dataType();
        if (!t.equals(DataTypes.BinaryType) && !ImageStruct.isImageStruct(t)) {
            throw new IllegalArgumentException("Column " + getInputCol()
                    + " must be of type binary (encoded image bytes) or an image struct but was " + t.simpleString());
        }
        if (Arrays.asList(schema.fieldNames()).contains(getPathCol())
                && !schema.apply(getPathCol()).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("Column " + getPathCol() + " must be of type string but was "
                    + schema.apply(getPathCol()).dataType().simpleString());
        }
        boolean replaceInPlace = getOutputCol().equals(getInputCol());
        if (!replaceInPlace) {
            SharedParams.requireAbsent(schema, getOutputCol(), "Output");
        }
        DataType outType = vector ? org.apache.spark.ml.linalg.SQLDataTypes.VectorType() : ImageStruct.schema();
        StructType out = new StructType();
        for (StructField f : schema.fields()) {
            if (replaceInPlace && f.name().equals(getOutputCol())) {
                out = out.add(getOutputCol(), outType, true);
            } else {
                out = out.add(f);
            }
        }
        if (!replaceInPlace) {
            out = out.add(getOutputCol(), outType, true);
        }
        if (getHandleInvalid().equals("keep")) {
            SharedParams.requireAbsent(schema, getErrorCol(), "Error");
            out = out.add(getErrorCol(), DataTypes.StringType, true);
        }
        return out;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType inSchema = dataset.schema();
        StructType outSchema = transformSchema(inSchema);
        int inIdx = inSchema.fieldIndex(getInputCol());
        int pathIdx = Arrays.asList(inSchema.fieldNames()).indexOf(getPathCol());
        DecodeRows fn = new DecodeRows(inIdx, pathIdx, ImageStruct.isImageStruct(inSchema.apply(inIdx).dataType()),
                getOutputCol().equals(getInputCol()), getHeight(), getWidth(), getChannels(), getHandleInvalid(),
                inSchema.size(), getOutputFormat().equals("vector"), getMaxPixels());
        return dataset.toDF().mapPartitions(fn, Encoders.row(outSchema));
    }

    /** Executor-side decoding of one partition. */
    private static final class DecodeRows implements MapPartitionsFunction<Row, Row> {
        private final int inIdx;
        private final int pathIdx;
        private final boolean structInput;
        private final boolean inPlace;
        private final int height;
        private final int width;
        private final int channels;
        private final String handleInvalid;
        private final int nIn;
        private final boolean vector;
        private final long maxPixels;

        DecodeRows(int inIdx, int pathIdx, boolean structInput, boolean inPlace, int height, int width,
                   int channels, String handleInvalid, int nIn, boolean vector, long maxPixels) {
            this.maxPixels = maxPixels;
            this.vector = vector;
            this.inIdx = inIdx;
            this.pathIdx = pathIdx;
            this.structInput = structInput;
            this.inPlace = inPlace;
            this.height = height;
            this.width = width;
            this.channels = channels;
            this.handleInvalid = handleInvalid;
            this.nIn = nIn;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            boolean keep = handleInvalid.equals("keep");
            boolean skip = handleInvalid.equals("skip");
            int nOut = nIn + (inPlace ? 0 : 1) + (keep ? 1 : 0);
            return new Iterator<>() {
                private Row next = advance();

                private Row advance() {
                    while (rows.hasNext()) {
                        Row r = rows.next();
                        String path = pathIdx >= 0 && !r.isNullAt(pathIdx) ? r.getString(pathIdx) : null;
                        Object image = null;
                        String error = null;
                        try {
                            image = decode(r, path);
                        } catch (ImageCodec.DecodeException e) {
                            error = e.getMessage();
                        }
                        if (error != null && skip) {
                            continue;
                        }
                        if (error != null && !keep) {
                            throw new IllegalStateException("Cannot decode image "
                                    + (path == null ? "(row without a path column)" : path) + ": " + error
                                    + ". Set handleInvalid to 'keep' or 'skip' to go past undecodable files.");
                        }
                        Object[] v = new Object[nOut];
                        for (int i = 0; i < nIn; i++) {
                            v[i] = r.get(i);
                        }
                        if (inPlace) {
                            v[inIdx] = image;
                        } else {
                            v[nIn] = image;
                        }
                        if (keep) {
                            v[nOut - 1] = error;
                        }
                        return RowFactory.create(v);
                    }
                    return null;
                }

                @Override
                public boolean hasNext() {
                    return next != null;
                }

                @Override
                public Row next() {
                    Row r = next;
                    next = advance();
                    return r;
                }
            };
        }

        private Object decode(Row r, String path) throws ImageCodec.DecodeException {
            if (r.isNullAt(inIdx)) {
                throw new ImageCodec.DecodeException("no image data (the file could not be read)");
            }
            ImageCodec.Pixels px;
            String origin;
            if (structInput) {
                Row s = r.getStruct(inIdx);
                px = ImageStruct.pixels(s);
                origin = s.isNullAt(0) ? (path == null ? "" : path) : s.getString(0);
                if (channels != 0) {
                    px = ImageCodec.convertChannels(px.height(), px.width(), px.channels(), px.data(), channels);
                }
            } else {
                // Resized inside decode, so that a big photo's full raster is dropped at once.
                px = ImageCodec.decode((byte[]) r.get(inIdx), channels, height, width, maxPixels);
                origin = path == null ? "" : path;
            }
            if (height > 0 && (px.height() != height || px.width() != width)) {
                px = ImageCodec.resize(px, height, width);
            }
            if (vector) {
                byte[] planar = ImageCodec.toPlanar(px, channels, height, width);
                double[] v = new double[planar.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (planar[i] & 0xff) / 255.0;
                }
                return org.apache.spark.ml.linalg.Vectors.dense(v);
            }
            return ImageStruct.toRow(origin, px);
        }
    }

    @Override
    public ImageDecoder copy(ParamMap extra) {
        return (ImageDecoder) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    public static MLReader<ImageDecoder> read() {
        return SparkMLInternals.paramsReader();
    }

    public static ImageDecoder load(String path) {
        return read().load(path);
    }
}
