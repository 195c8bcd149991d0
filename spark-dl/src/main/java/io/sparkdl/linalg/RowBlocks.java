package io.sparkdl.linalg;

import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Rows of a vector or image column packed into dense float blocks (at most 4,096 rows and ~16 MB each), so that
 * distributed linear algebra runs as ND4J matrix products per block instead of per-row loops.
 * Image structs become their pixels scaled to [0, 1] in the struct's own order (row, column, channel).
 */
public final class RowBlocks {
    private static final long MAX_BLOCK_FLOATS = 4L << 20;

    private RowBlocks() {
    }

    /** One block: {@code rows x cols} floats, row-major, and each row's squared Euclidean norm. */
    public record Block(int rows, int cols, float[] data, float[] sqNorms) implements Serializable {
        public Block(int rows, int cols, float[] data) {
            this(rows, cols, data, squaredNorms(rows, cols, data));
        }

        /** A new off-heap matrix holding a copy of the block (see {@link Loader} to reuse one buffer). */
        public INDArray matrix() {
            return Nd4j.create(data, new long[]{rows, cols}, 'c');
        }
    }

    static float[] squaredNorms(int rows, int cols, float[] data) {
        float[] n = new float[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            int o = r * cols;
            for (int i = 0; i < cols; i++) {
                s += (double) data[o + i] * data[o + i];
            }
            n[r] = (float) s;
        }
        return n;
    }

    /**
     * Loads blocks into one reused off-heap buffer per task: a bulk NIO copy (about 1 ms for 12 MB, where
     * building a new INDArray from a float[] took 15-20 ms), and no off-heap allocation per block. The
     * returned matrix is valid until the next {@link #load}; in-place operations on it are allowed.
     */
    public static final class Loader {
        private INDArray buffer;

        public INDArray load(Block b) {
            buffer(b.rows(), b.cols()).put(b.data(), 0, b.rows() * b.cols());
            return top(b.rows());
        }

        /** Loads rows {@code rows[0..m)} of {@code b}, in that order, as an {@code m x cols} matrix. */
        public INDArray load(Block b, int[] rows, int m) {
            int d = b.cols();
            java.nio.FloatBuffer fb = buffer(m, d);
            float[] x = b.data();
            for (int i = 0; i < m; i++) {
                fb.put(x, rows[i] * d, d);
            }
            return top(m);
        }

        /** The reused buffer, grown to at least {@code rows x cols}, as a float view positioned at its start. */
        private java.nio.FloatBuffer buffer(int rows, int cols) {
            if (buffer == null || buffer.rows() < rows || buffer.columns() != cols) {
                buffer = Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, Math.max(rows, 1), cols);
            }
            return buffer.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        }

        private INDArray top(long rows) {
            return rows == buffer.rows() ? buffer
                    : buffer.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, rows),
                    org.nd4j.linalg.indexing.NDArrayIndex.all());
        }
    }

    /** Checks that {@code col} is an ML vector or an image struct column. */
    public static void requireVectorOrImage(StructType schema, String col, String role) {
        DataType t = SharedParams.requireColumn(schema, col, role).dataType();
        if (!t.equals(SQLDataTypes.VectorType()) && !ImageStruct.isImageStruct(t)) {
            throw new IllegalArgumentException(role + " column '" + col + "' must be an ML vector or an image struct"
                    + " (decode images with ImageDecoder) but was " + t.simpleString());
        }
    }

    /** The number of values in one row of {@code col} (the first non-null row is read). */
    public static int width(Dataset<Row> data, String col) {
        List<Row> first = data.select(col).where(data.col(col).isNotNull()).limit(1).collectAsList();
        if (first.isEmpty()) {
            throw new IllegalArgumentException("Column '" + col + "' has no non-null rows");
        }
        return toFloats(first.get(0).get(0), col).length;
    }

    /** Blocks of the non-null rows of {@code col}; every row must have {@code width} values. */
    public static JavaRDD<Block> blocks(Dataset<Row> data, String col, int width) {
        int rowsPerBlock = (int) Math.max(1, Math.min(4096, MAX_BLOCK_FLOATS / width));
        Dataset<Row> one = data.select(col);
        if (one.schema().fields()[0].dataType().equals(SQLDataTypes.VectorType())) {
            // vectors straight from Spark's internal rows into the block: no Row or DenseVector per row
            return SparkMLInternals.internalRows(one).mapPartitions(rows -> pack(rows, width, rowsPerBlock, col,
                    (r, buf, off) -> r.isNullAt(0) ? -1 : SparkMLInternals.copyVector(r, 0, buf, off, width)));
        }
        return one.toJavaRDD().mapPartitions(rows -> pack(rows, width, rowsPerBlock, col, (r, buf, off) -> {
            if (r.isNullAt(0)) {
                return -1;
            }
            float[] v = toFloats(r.get(0), col);
            if (v.length == width) {
                System.arraycopy(v, 0, buf, off, width);
            }
            return v.length;
        }));
    }

    /** Copies one row's values into {@code buf} at {@code off} and returns their number, or -1 for a null. */
    private interface RowCopier<R> {
        int copy(R row, float[] buf, int off);
    }

    private static <R> Iterator<Block> pack(Iterator<R> rows, int width, int rowsPerBlock, String col,
                                            RowCopier<R> copier) {
        List<Block> out = new ArrayList<>();
        float[] buf = new float[rowsPerBlock * width];
        int n = 0;
        while (rows.hasNext()) {
            int len = copier.copy(rows.next(), buf, n * width);
            if (len < 0) {
                continue;
            }
            if (len != width) {
                throw new IllegalArgumentException("Column '" + col + "' holds rows of " + len + " and of "
                        + width + " values; all rows need the same size (resize images with ImageDecoder)");
            }
            if (++n == rowsPerBlock) {
                out.add(new Block(n, width, buf));
                buf = new float[rowsPerBlock * width];
                n = 0;
            }
        }
        if (n > 0) {
            out.add(new Block(n, width, java.util.Arrays.copyOf(buf, n * width)));
        }
        return out.iterator();
    }

    /**
     * The non-null values of column {@code idx} in a batch of rows, packed into one block;
     * {@code slots[i]} is row i's row in the block, or -1 for a null value.
     */
    public record Packed(Block block, int[] slots) {
    }

    /** Packs a batch for a batched product; every non-null value must have {@code width} entries. */
    public static Packed pack(java.util.List<Row> batch, int idx, String col, int width) {
        float[] x = new float[batch.size() * width];
        int[] slots = new int[batch.size()];
        int n = 0;
        for (int i = 0; i < batch.size(); i++) {
            Row r = batch.get(i);
            slots[i] = -1;
            if (r.isNullAt(idx)) {
                continue;
            }
            float[] v = toFloats(r.get(idx), col);
            if (v.length != width) {
                throw new IllegalArgumentException("Column '" + col + "' has a row of " + v.length
                        + " values; the model expects " + width);
            }
            System.arraycopy(v, 0, x, n * width, width);
            slots[i] = n++;
        }
        return new Packed(n == 0 ? null : new Block(n, width, java.util.Arrays.copyOf(x, n * width)), slots);
    }

    /** A vector or an image struct as floats (pixels / 255). */
    public static float[] toFloats(Object value, String col) {
        if (value instanceof Vector v) {
            double[] d = v.toArray();
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            return f;
        }
        if (value instanceof Row r) {
            try {
                byte[] px = ImageStruct.pixels(r).data();
                float[] f = new float[px.length];
                for (int i = 0; i < px.length; i++) {
                    f[i] = (px[i] & 0xff) / 255f;
                }
                return f;
            } catch (ImageCodec.DecodeException e) {
                throw new IllegalArgumentException("Column '" + col + "' holds an invalid image: " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException("Column '" + col + "' must hold ML vectors or image structs but holds "
                + (value == null ? "null" : value.getClass().getName()));
    }
}
