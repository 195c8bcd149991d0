package io.sparkdl.image;

import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.sparkdl.image.ImageCodecTest.encode;
import static io.sparkdl.image.ImageCodecTest.rgb;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageDecoderTest {
    @TempDir
    Path dir;

    private void makeTree() throws Exception {
        Files.createDirectories(dir.resolve("cats"));
        Files.createDirectories(dir.resolve("dogs/nested"));
        Files.write(dir.resolve("cats/a.PNG"), encode(rgb(30, 20, Color.RED), "png"));
        Files.write(dir.resolve("cats/b.JpEg"), encode(rgb(300, 200, Color.GREEN), "jpeg"));
        Files.write(dir.resolve("dogs/c.bmp"), encode(rgb(8, 8, Color.BLUE), "bmp"));
        Files.write(dir.resolve("dogs/nested/d.gif"), encode(rgb(64, 48, Color.WHITE), "gif"));
        Files.write(dir.resolve("dogs/empty.png"), new byte[0]);
        Files.write(dir.resolve("dogs/notes.txt"), "not an image".getBytes());
        byte[] png = encode(rgb(40, 40, Color.BLUE), "png");
        Files.write(dir.resolve("cats/truncated.png"), java.util.Arrays.copyOf(png, png.length / 2));
        // hidden files are skipped, as everywhere in Spark
        Files.write(dir.resolve("cats/.DS_Store"), new byte[]{0});
        Files.write(dir.resolve("_SUCCESS"), new byte[0]);
        Files.createDirectories(dir.resolve("_tmp"));
        Files.write(dir.resolve("_tmp/x.png"), png);
    }

    @Test
    void photoFolderDecodesUprightAndReportsBombsAndUnreadableFormatsAsBadFiles() throws Exception {
        Files.createDirectories(dir.resolve("a"));
        for (String f : new String[]{"pattern.webp", "orient-6.jpg", "cmyk.jpg", "bomb.png", "pattern.heic"}) {
            Files.write(dir.resolve("a").resolve(f), ImageCodecFormatsTest.resource(f));
        }
        Files.write(dir.resolve("a/garbage.jpg"), new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3, 4, 5});
        SparkSession spark = SparkTest.spark();
        ImageDecoder dec = new ImageDecoder().setChannels(3);
        assertEquals(ImageCodec.DEFAULT_MAX_PIXELS, dec.getMaxPixels());
        List<Row> rows = dec.transform(ImageSources.readFolder(spark, dir.toString()))
                .select(col("path"), col("image"), col("decodeError")).orderBy("path").collectAsList();
        assertEquals(6, rows.size());
        for (Row r : rows) {
            String name = Path.of(r.getString(0).replace("file:", "")).getFileName().toString();
            String error = r.getString(2);
            switch (name) {
                case "bomb.png" -> assertTrue(error != null && error.contains("20000x20000")
                        && error.contains("maxPixels"), name + ": " + error);
                case "pattern.heic" -> assertTrue(error != null && error.contains("HEIC"), name + ": " + error);
                case "garbage.jpg" -> assertTrue(error != null && error.startsWith("corrupt image"), name + ": " + error);
                default -> {
                    assertNull(error, name);
                    ImageCodec.Pixels px = ImageStruct.pixels(r.getStruct(1));
                    if (!name.equals("cmyk.jpg")) {
                        ImageCodecFormatsTest.assertUprightPattern(px, 3, name);
                    }
                }
            }
        }
        // A lower limit makes the 32x24 images bad files too, with the reason.
        List<Row> strict = new ImageDecoder().setMaxPixels(500).transform(ImageSources.readFolder(spark, dir.toString()))
                .where(col("decodeError").contains("above the limit of 500")).collectAsList();
        assertEquals(3, strict.size());
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder().setMaxPixels(0));
    }

    @Test
    void readsFolderTreeWithLabelsAndReportsBadFiles() throws Exception {
        makeTree();
        SparkSession spark = SparkTest.spark();
        Dataset<Row> files = ImageSources.readFolder(spark, dir.toString());
        Dataset<Row> out = new ImageDecoder().setSize(28, 28).setChannels(1).transform(files);
        List<Row> rows = out.select(col("path"), col("label"), col("image"), col("decodeError"))
                .orderBy("path").collectAsList();
        assertEquals(7, rows.size());
        int good = 0;
        for (Row r : rows) {
            String path = r.getString(0);
            String expectedLabel = path.contains("/cats/") ? "cats" : "dogs";
            assertEquals(expectedLabel, r.getString(1), path);
            boolean bad = path.endsWith("empty.png") || path.endsWith("notes.txt") || path.endsWith("truncated.png");
            if (bad) {
                assertTrue(r.isNullAt(2), path);
                assertTrue(r.getString(3) != null && !r.getString(3).isEmpty(), path);
            } else {
                good++;
                Row img = r.getStruct(2);
                assertEquals(28, img.getInt(1));
                assertEquals(28, img.getInt(2));
                assertEquals(1, img.getInt(3));
                assertEquals(784, ((byte[]) img.get(5)).length);
                assertEquals(path, img.getString(0));
                assertNull(r.get(3));
            }
        }
        assertEquals(4, good);
        Row empty = rows.stream().filter(r -> r.getString(0).endsWith("empty.png")).findFirst().orElseThrow();
        assertEquals("empty file", empty.getString(3));
    }

    @Test
    void skipDropsAndErrorFailsNamingTheFile() throws Exception {
        makeTree();
        SparkSession spark = SparkTest.spark();
        Dataset<Row> files = ImageSources.readFolder(spark, dir.toString());
        assertEquals(4, new ImageDecoder().setHandleInvalid("skip").transform(files).count());
        Exception e = assertThrows(Exception.class,
                () -> new ImageDecoder().setHandleInvalid("error").transform(files).count());
        String all = chain(e);
        assertTrue(all.contains("Cannot decode image") && (all.contains("notes.txt") || all.contains("empty.png")
                || all.contains("truncated.png")), all);
    }

    @Test
    void keepsNativeSizeAndAcceptsSparkImageSource() throws Exception {
        makeTree();
        SparkSession spark = SparkTest.spark();
        Row r = new ImageDecoder().transform(ImageSources.readFolder(spark, dir.toString()))
                .where(col("path").endsWith("a.PNG")).first();
        Row img = r.getStruct(r.fieldIndex("image"));
        assertEquals(20, img.getInt(1));
        assertEquals(30, img.getInt(2));
        assertEquals(3, img.getInt(3));

        Dataset<Row> viaSpark = spark.read().format("image").load(dir.resolve("dogs/c.bmp").toString());
        Row s = new ImageDecoder().setInputCol("image").setOutputCol("small").setSize(4, 4).setChannels(1)
                .transform(viaSpark).first();
        Row small = s.getStruct(s.fieldIndex("small"));
        assertEquals(4, small.getInt(1));
        assertEquals(1, small.getInt(3));
        assertEquals(ImageCodec.luminance(0, 0, 255), ((byte[]) small.get(5))[0] & 0xff);
    }

    @Test
    void acceptsBinaryFileSourceAndParquetTables() throws Exception {
        makeTree();
        SparkSession spark = SparkTest.spark();
        Dataset<Row> bin = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                .load(dir.toString());
        Dataset<Row> decoded = new ImageDecoder().setSize(8, 8).setHandleInvalid("skip").transform(bin);
        assertEquals(4, decoded.count());

        String table = dir.resolve("table.parquet").toString();
        ImageSources.readFolder(spark, dir.toString()).where(col("path").endsWith("a.PNG")
                        .or(col("path").endsWith("c.bmp")))
                .selectExpr("content as bytes", "label as class", "path as file")
                .write().parquet(table);
        Dataset<Row> t = ImageSources.readTable(spark, table, "parquet", "bytes", "class", "file");
        List<Row> rows = new ImageDecoder().setSize(5, 5).setChannels(1).transform(t)
                .select("label", "image", "decodeError").orderBy("label").collectAsList();
        assertEquals(2, rows.size());
        assertEquals("cats", rows.get(0).getString(0));
        assertEquals(25, ((byte[]) rows.get(0).getStruct(1).get(5)).length);
        assertNull(rows.get(1).get(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageSources.readTable(spark, table, "parquet", "pixels", "class", null));
        assertTrue(e.getMessage().contains("no column 'pixels'"), e.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> ImageSources.readTable(spark, table, "parquet", "class", null, null));
        assertTrue(type.getMessage().contains("Column class must be of type binary but was string"), type.getMessage());
    }

    @Test
    void vectorOutputIsScaledToUnitRangeForMllib() throws Exception {
        makeTree();
        SparkSession spark = SparkTest.spark();
        Dataset<Row> v = new ImageDecoder().setSize(4, 3).setChannels(3).setOutputFormat("vector")
                .setHandleInvalid("skip").transform(ImageSources.readFolder(spark, dir.toString()));
        Row red = v.where(col("path").endsWith("a.PNG")).first();
        org.apache.spark.ml.linalg.Vector x = red.getAs("image");
        assertEquals(3 * 4 * 3, x.size());
        assertEquals(1.0, x.apply(0), 1e-9);      // R plane first
        assertEquals(0.0, x.apply(12), 1e-9);     // G plane
        assertEquals(0.0, x.apply(24), 1e-9);     // B plane
        // an MLlib stage takes it as is
        new org.apache.spark.ml.feature.StandardScaler().setInputCol("image").setOutputCol("scaled").fit(v)
                .transform(v).count();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImageDecoder().setOutputFormat("vector").transformSchema(v.drop("image").schema()));
        assertTrue(e.getMessage().contains("needs height, width and channels"), e.getMessage());
    }

    @Test
    void schemaAndParamErrorsNameTheProblem() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> strings = spark.range(3).selectExpr("cast(id as string) as content");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImageDecoder().transform(strings));
        assertTrue(e.getMessage().contains("Column content must be of type binary"), e.getMessage());
        assertTrue(e.getMessage().contains("but was string"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder().setChannels(2));
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder().setHandleInvalid("ignore"));
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> new ImageDecoder().setHeight(10).transformSchema(strings.schema()));
        assertTrue(size.getMessage().contains("height and width"), size.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new ImageDecoder().setInputCol("nope").transformSchema(strings.schema()))
                .getMessage().contains("'nope' does not exist"));
    }

    @Test
    void missingFolderIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageSources.readFolder(SparkTest.spark(), dir.resolve("absent").toString()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    static String chain(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }
}
