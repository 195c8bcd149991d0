package io.sparkdl.linalg;

import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.SparkException;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowBlocksTest {

    private static List<float[]> rows(List<RowBlocks.Block> blocks) {
        List<float[]> out = new ArrayList<>();
        for (RowBlocks.Block b : blocks) {
            for (int r = 0; r < b.rows(); r++) {
                out.add(java.util.Arrays.copyOfRange(b.data(), r * b.cols(), (r + 1) * b.cols()));
            }
        }
        out.sort(Comparator.comparingDouble(v -> v[0]));
        return out;
    }

    @Test
    void packsDenseAndSparseVectorsAndSkipsNulls() {
        SparkSession spark = SparkTest.spark();
        List<Row> in = List.of(RowFactory.create(Vectors.dense(1, 2, 3)),
                RowFactory.create(Vectors.sparse(3, new int[]{0, 2}, new double[]{4, 5})),
                RowFactory.create((Object) null),
                RowFactory.create(Vectors.dense(6, 0, 7)));
        Dataset<Row> df = spark.createDataFrame(in, new StructType().add("v", SQLDataTypes.VectorType()))
                .repartition(2);
        List<RowBlocks.Block> blocks = RowBlocks.blocks(df, "v", 3).collect();
        List<float[]> got = rows(blocks);
        assertEquals(3, got.size(), "the null row is skipped");
        assertArrayEquals(new float[]{1, 2, 3}, got.get(0));
        assertArrayEquals(new float[]{4, 0, 5}, got.get(1), "sparse vector expanded");
        assertArrayEquals(new float[]{6, 0, 7}, got.get(2));
        for (RowBlocks.Block b : blocks) {
            for (int r = 0; r < b.rows(); r++) {
                double sq = 0;
                for (int i = 0; i < 3; i++) {
                    sq += b.data()[r * 3 + i] * b.data()[r * 3 + i];
                }
                assertEquals(sq, b.sqNorms()[r], 1e-4);
            }
        }
    }

    @Test
    void mixedVectorSizesNameTheColumn() {
        SparkSession spark = SparkTest.spark();
        List<Row> in = List.of(RowFactory.create(Vectors.dense(1, 2, 3)), RowFactory.create(Vectors.dense(1, 2)));
        Dataset<Row> df = spark.createDataFrame(in, new StructType().add("pixels", SQLDataTypes.VectorType()));
        SparkException e = assertThrows(SparkException.class, () -> RowBlocks.blocks(df, "pixels", 3).count());
        assertTrue(e.getMessage().contains("Column 'pixels' holds rows of 2 and of 3 values"), e.getMessage());
    }

    @Test
    void packsImagePixelsScaledToUnitRange() {
        SparkSession spark = SparkTest.spark();
        byte[] px = {0, (byte) 255, 51, (byte) 102};
        List<Row> in = List.of(RowFactory.create(ImageStruct.toRow("a.png", new ImageCodec.Pixels(2, 2, 1, px))));
        Dataset<Row> df = spark.createDataFrame(in, new StructType().add("image", ImageStruct.schema()));
        List<RowBlocks.Block> blocks = RowBlocks.blocks(df, "image", 4).collect();
        assertArrayEquals(new float[]{0f, 1f, 0.2f, 0.4f}, blocks.get(0).data(), 1e-6f);
    }
}
