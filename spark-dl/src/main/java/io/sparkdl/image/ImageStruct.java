package io.sparkdl.image;

import org.apache.spark.ml.image.ImageSchema;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The image column format: Spark's own image struct (origin, height, width, nChannels, mode, data),
 * so that spark-dl stages accept the output of {@code spark.read.format("image")} as well.
 */
public final class ImageStruct {
    /** OpenCV type codes used by Spark's image schema. */
    public static final int CV_8UC1 = 0;
    public static final int CV_8UC3 = 16;
    public static final int CV_8UC4 = 24;

    private ImageStruct() {
    }

    public static StructType schema() {
        return ImageSchema.columnSchema();
    }

    /**
     * The image column {@code name} of {@code schema}; fails naming the column and its type when it is missing or
     * not an image struct ({@code role}: "Features", "Input", ...).
     */
    public static StructField requireColumn(StructType schema, String name, String role) {
        StructField f = io.sparkdl.param.SharedParams.requireColumn(schema, name, role);
        if (!isImageStruct(f.dataType())) {
            throw new IllegalArgumentException("Column " + name + " must be of type image struct (decode it with "
                    + "ImageDecoder) but was " + f.dataType().simpleString());
        }
        return f;
    }

    /** True when {@code t} has the fields of Spark's image struct (names and order). */
    public static boolean isImageStruct(DataType t) {
        if (!(t instanceof StructType st)) {
            return false;
        }
        StructField[] want = schema().fields();
        StructField[] got = st.fields();
        if (got.length != want.length) {
            return false;
        }
        for (int i = 0; i < want.length; i++) {
            if (!want[i].name().equals(got[i].name()) || !want[i].dataType().equals(got[i].dataType())) {
                return false;
            }
        }
        return true;
    }

    /**
     * A batch of image-struct values converted to the network's input: {@code n} images of
     * {@code channels x height x width} floats in [0, 1], one after the other; {@code slots[i]} is row i's
     * image in the batch, or -1 when its value is null or undecodable.
     */
    public record PlanarBatch(int n, float[] data, int[] slots) {
    }

    /** Converts column {@code idx} of a batch of rows for a network taking {height, width, channels}. */
    public static PlanarBatch planar(java.util.List<Row> batch, int idx, int[] shape) {
        return planar(batch, idx, shape, null);
    }

    /** As {@link #planar(java.util.List, int, int[])}, then standardised by {@code norm} unless it is null. */
    public static PlanarBatch planar(java.util.List<Row> batch, int idx, int[] shape, Normalization norm) {
        int len = shape[0] * shape[1] * shape[2];
        float[] x = new float[batch.size() * len];
        int[] slots = new int[batch.size()];
        int n = 0;
        for (int i = 0; i < batch.size(); i++) {
            Row r = batch.get(i);
            slots[i] = -1;
            if (r.isNullAt(idx)) {
                continue;
            }
            byte[] px;
            try {
                px = ImageCodec.toPlanar(pixels(r.getStruct(idx)), shape[2], shape[0], shape[1]);
            } catch (ImageCodec.DecodeException e) {
                continue;
            }
            for (int k = 0; k < len; k++) {
                x[n * len + k] = (px[k] & 0xff) / 255f;
            }
            slots[i] = n++;
        }
        if (norm != null) {
            norm.apply(x, n, shape[2], shape[0] * shape[1]);
        }
        return new PlanarBatch(n, n == batch.size() ? x : java.util.Arrays.copyOf(x, n * len), slots);
    }

    public static Row toRow(String origin, ImageCodec.Pixels p) {
        int mode = p.channels() == 1 ? CV_8UC1 : CV_8UC3;
        return RowFactory.create(origin, p.height(), p.width(), p.channels(), mode, p.data());
    }

    /**
     * Pixels from an image struct row; 4-channel (BGRA) images lose their alpha.
     *
     * @throws ImageCodec.DecodeException for the "invalid image" rows Spark's image source writes
     */
    public static ImageCodec.Pixels pixels(Row r) throws ImageCodec.DecodeException {
        int h = r.getInt(1);
        int w = r.getInt(2);
        int c = r.getInt(3);
        byte[] data = r.isNullAt(5) ? null : (byte[]) r.get(5);
        if (h <= 0 || w <= 0 || data == null || data.length == 0) {
            throw new ImageCodec.DecodeException("invalid image struct (undecodable in the image source)");
        }
        if (c != 1 && c != 3 && c != 4) {
            throw new ImageCodec.DecodeException("unsupported number of channels " + c);
        }
        if (data.length != (long) h * w * c) {
            throw new ImageCodec.DecodeException("image struct holds " + data.length + " bytes for "
                    + h + "x" + w + "x" + c);
        }
        if (c == 4) {
            return ImageCodec.convertChannels(h, w, 4, data, 3);
        }
        return new ImageCodec.Pixels(h, w, c, data);
    }
}
