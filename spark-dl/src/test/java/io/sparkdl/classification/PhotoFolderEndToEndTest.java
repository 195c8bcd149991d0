package io.sparkdl.classification;

import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A folder of RGB "photos" end to end through the library API: JPEGs and PNGs of mixed sizes, a third of the
 * JPEGs stored sideways or upside down with an EXIF orientation tag (as phones write them), decoded to
 * 64x64x3, trained with the resnet architecture, evaluated on a held-out folder and used to predict.
 *
 * <p>The classes differ by structure, not colour (colours are drawn from one distribution): a horizon
 * (horizontal bands), trees (vertical trunks) and a sun (a disc). A horizon stored sideways looks like trees
 * unless its orientation tag is applied, so the accuracy also depends on EXIF handling.
 */
class PhotoFolderEndToEndTest {
    private static final String[] CLASSES = {"horizon", "sun", "trees"};

    @TempDir
    Path tmp;

    @Test
    void learnsSyntheticScenesFromAPhotoFolder() throws Exception {
        Path train = tmp.resolve("train");
        Path test = tmp.resolve("test");
        writeFolder(train, 60, 1);
        writeFolder(test, 15, 2);
        SparkSession spark = SparkTest.spark();
        ImageDecoder decoder = new ImageDecoder().setSize(64, 64).setChannels(3);
        Dataset<Row> trainSet = decoder.transform(ImageSources.readFolder(spark, train.toString())).drop("content");
        assertEquals(0, trainSet.where(col("decodeError").isNotNull()).count(), "every generated file decodes");

        CnnClassifierModel model = new CnnClassifier().setArch("resnet").setHeight(64).setWidth(64)
                .setChannels(3).setEpochs(10).setBatchSize(16).setNumWorkers(2).setSeed(7)
                .fit(trainSet.where(col("decodeError").isNull()));

        Dataset<Row> testSet = decoder.transform(ImageSources.readFolder(spark, test.toString())).drop("content");
        List<Row> predicted = model.transform(testSet).select("label", "predictedLabel").collectAsList();
        assertEquals(3 * 15, predicted.size());
        long right = predicted.stream().filter(r -> r.getString(0).equals(r.getString(1))).count();
        double accuracy = right / (double) predicted.size();
        assertTrue(accuracy >= 0.8, "held-out accuracy " + accuracy + " (chance 0.33)");

        // Predicting files outside any class folder: each gets one of the three class names.
        Path loose = tmp.resolve("loose");
        Files.createDirectories(loose);
        Random r = new Random(3);
        for (int i = 0; i < 3; i++) {
            Files.write(loose.resolve("new-" + i + ".png"), encode(scene(CLASSES[i], 90, 70, r), "png"));
        }
        List<Row> loosePredictions = model.transform(
                decoder.transform(ImageSources.readFolder(spark, loose.toString())).drop("content"))
                .select("path", "predictedLabel").orderBy("path").collectAsList();
        assertEquals(3, loosePredictions.size());
        for (Row p : loosePredictions) {
            assertTrue(List.of(CLASSES).contains(p.getString(1)), p.toString());
        }
    }

    /** perClass images per class: JPEGs with EXIF orientations 1, 3, 6, 8 in turn, every fourth a PNG. */
    private static void writeFolder(Path dir, int perClass, long seed) throws IOException {
        Random r = new Random(seed);
        int[] orientations = {1, 6, 3, 8};
        for (String c : CLASSES) {
            Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < perClass; i++) {
                int w = 64 + r.nextInt(100);
                int h = 64 + r.nextInt(100);
                BufferedImage upright = scene(c, w, h, r);
                if (i % 4 == 3) {
                    Files.write(dir.resolve(c).resolve(i + ".png"), encode(upright, "png"));
                } else {
                    int o = orientations[i % 4];
                    Files.write(dir.resolve(c).resolve(i + ".jpg"), withOrientation(encode(stored(upright, o), "jpeg"), o));
                }
            }
        }
    }

    private static Color randomColour(Random r) {
        return new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256));
    }

    /** An upright scene of class c, w x h, with colours from one distribution for all classes. */
    static BufferedImage scene(String c, int w, int h, Random r) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        Color back = randomColour(r);
        Color fore = randomColour(r);
        while (Math.abs(back.getRed() + back.getGreen() + back.getBlue()
                - fore.getRed() - fore.getGreen() - fore.getBlue()) < 150) {
            fore = randomColour(r);
        }
        g.setColor(back);
        g.fillRect(0, 0, w, h);
        g.setColor(fore);
        switch (c) {
            case "horizon" -> {
                int y = h * (35 + r.nextInt(30)) / 100;
                g.fillRect(0, y, w, h - y);
                g.setColor(back);
                for (int k = 0; k < 2; k++) {
                    g.fillRect(0, y + (k + 1) * (h - y) / 4, w, Math.max(2, h / 30));
                }
            }
            case "trees" -> {
                int n = 3 + r.nextInt(3);
                for (int k = 0; k < n; k++) {
                    int tw = Math.max(3, w / 14 + r.nextInt(Math.max(1, w / 14)));
                    g.fillRect(k * w / n + r.nextInt(Math.max(1, w / n - tw)), 0, tw, h);
                }
            }
            default -> {
                int d = Math.min(w, h) * (35 + r.nextInt(25)) / 100;
                g.fillOval(r.nextInt(w - d), r.nextInt(h - d), d, d);
            }
        }
        g.dispose();
        // Sensor-like noise, so that no two images share exact pixels.
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                int n = r.nextInt(21) - 10;
                img.setRGB(x, y, new Color(clamp(((p >> 16) & 255) + n), clamp(((p >> 8) & 255) + n),
                        clamp((p & 255) + n)).getRGB());
            }
        }
        return img;
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** The pixels a camera stores for an upright scene it tags with orientation o (1, 3, 6 or 8). */
    private static BufferedImage stored(BufferedImage upright, int o) {
        int turns = switch (o) { // quarter turns clockwise of the stored pixels
            case 3 -> 2;
            case 6 -> 3; // displayed by turning 90 degrees clockwise, so stored turned counter-clockwise
            case 8 -> 1;
            default -> 0;
        };
        BufferedImage img = upright;
        for (int t = 0; t < turns; t++) {
            int w = img.getWidth();
            int h = img.getHeight();
            BufferedImage out = new BufferedImage(h, w, BufferedImage.TYPE_3BYTE_BGR);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out.setRGB(h - 1 - y, x, img.getRGB(x, y)); // clockwise quarter turn
                }
            }
            img = out;
        }
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
        return out.toByteArray();
    }

    /** The JPEG with an EXIF APP1 segment holding only the orientation tag, right after SOI. */
    static byte[] withOrientation(byte[] jpeg, int o) {
        byte[] app1 = {
                (byte) 0xFF, (byte) 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
                'M', 'M', 0, 42, 0, 0, 0, 8,                         // TIFF header, big-endian, IFD0 at 8
                0, 1,                                                // one entry
                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) o, 0, 0,     // Orientation, SHORT, 1 value
                0, 0, 0, 0};                                         // no next IFD
        byte[] out = new byte[jpeg.length + app1.length];
        System.arraycopy(jpeg, 0, out, 0, 2);
        System.arraycopy(app1, 0, out, 2, app1.length);
        System.arraycopy(jpeg, 2, out, 2 + app1.length, jpeg.length - 2);
        return out;
    }
}
