package io.sparkdl.train;

import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ValidationSplitTest {
    private static final StructType IMAGES = new StructType().add("id", "int").add("image", ImageStruct.schema())
            .add("label", "string");

    private static List<Row> images(String folder, int n) {
        Random r = new Random(5);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] px = new byte[16];
            r.nextBytes(px);
            rows.add(RowFactory.create(i, ImageStruct.toRow(folder + "/img" + i + ".png",
                    new ImageCodec.Pixels(4, 4, 1, px)), "class" + (i % 3)));
        }
        return rows;
    }

    private static Set<Integer> heldOut(Dataset<Row> df, double fraction, long seed) {
        Set<Integer> ids = new TreeSet<>();
        for (Row r : df.where(ValidationSplit.isValidation(df.schema(), "image", "label", fraction, seed))
                .select("id").collectAsList()) {
            ids.add(r.getInt(0));
        }
        return ids;
    }

    @Test
    void sameImagesGiveTheSameSplitWhateverTheOrderPartitionsOrFolder() {
        SparkSession spark = SparkTest.spark();
        List<Row> rows = images("file:/data/a", 2000);
        Set<Integer> first = heldOut(spark.createDataFrame(rows, IMAGES).repartition(1), 0.1, 42);
        List<Row> shuffled = new ArrayList<>(images("file:/elsewhere/copy", 2000));
        Collections.shuffle(shuffled, new Random(9));
        Set<Integer> second = heldOut(spark.createDataFrame(shuffled, IMAGES).repartition(5), 0.1, 42);
        assertEquals(first, second, "same pixels and labels, other folder, order and partitioning");
        assertTrue(Math.abs(first.size() - 200) < 45, "about 10% held out: " + first.size());
        assertNotEquals(first, heldOut(spark.createDataFrame(rows, IMAGES), 0.1, 43), "the seed changes the split");
        assertEquals(0, heldOut(spark.createDataFrame(rows, IMAGES), 0.0, 42).size());
    }

    @Test
    void vectorsWorkAndBadFractionsAreRefused() {
        SparkSession spark = SparkTest.spark();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            rows.add(RowFactory.create(i, Vectors.dense(i, i % 7), (double) (i % 2)));
        }
        StructType schema = new StructType().add("id", "int").add("features", SQLDataTypes.VectorType())
                .add("label", "double");
        Dataset<Row> df = spark.createDataFrame(rows, schema);
        long n = df.where(ValidationSplit.isValidation(schema, "features", "label", 0.25, 1)).count();
        assertTrue(Math.abs(n - 250) < 45, "about 25% held out: " + n);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ValidationSplit.isValidation(schema, "features", "label", 1.0, 1));
        assertTrue(e.getMessage().contains("[0, 1)"), e.getMessage());
    }
}
