package io.sparkdl.classification;

import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.ImageBlocks;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17: {@code spark.sparkdl.train.blockBytes} cuts each worker's images into many cached blocks, and a fit on
 * blocks of two images gives the weights of a fit on one block per worker.
 */
class BoundedBlocksFitTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void threeColourFolder() throws Exception {
        Random r = new Random(5);
        String[] classes = {"red", "green", "blue"};
        for (int c = 0; c < classes.length; c++) {
            Files.createDirectories(dir.resolve(classes[c]));
            for (int i = 0; i < 30; i++) {
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int[] rgb = {r.nextInt(90), r.nextInt(90), r.nextInt(90)};
                        rgb[c] = 150 + r.nextInt(100);
                        img.setRGB(x, y, (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]);
                    }
                }
                ImageIO.write(img, "png", dir.resolve(classes[c] + "/" + i + ".png").toFile());
            }
        }
    }

    @Test
    void blocksOfTwoImagesTrainLikeOneBlockPerWorker() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> images = new ImageDecoder().setSize(16, 16).setChannels(3)
                .transform(ImageSources.readFolder(spark, dir.toString())).drop("content").cache();
        try {
            float[] whole = fit(images, null);
            // 16x16x3 = 768 bytes an image: 2 images a block, ~20 blocks per worker
            float[] small = fit(images, "1600");
            assertArrayEquals(whole, small, "weights with blocks of 2 images");
            String msg = assertThrows(IllegalArgumentException.class, () -> fit(images, "tiny")).getMessage();
            assertTrue(msg.startsWith("spark.sparkdl.train.blockBytes = 'tiny' is not a size"), msg);
        } finally {
            images.unpersist();
        }
    }

    @Test
    void whenBlocksCachedRunsOnceAndTheInputCanGoThere() {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> images = new ImageDecoder().setSize(16, 16).setChannels(3)
                .transform(ImageSources.readFolder(spark, dir.toString())).drop("content").cache();
        try {
            float[] kept = fit(images, null);
            int before = spark.sparkContext().getPersistentRDDs().size();
            java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
            java.util.List<Integer> persisted = new java.util.ArrayList<>();
            CnnClassifierModel model = new CnnClassifier().setEpochs(2).setNumWorkers(2).setSeed(13)
                    .setAugmentation("flip=horizontal,rotate=10").setValidationFraction(0.2)
                    .whenBlocksCached(() -> {
                        calls.incrementAndGet();
                        persisted.add(spark.sparkContext().getPersistentRDDs().size());
                        images.unpersist(true);
                    }).fit(images);
            assertEquals(1, calls.get(), "run once");
            // besides what was persisted before (the input's cache among it): the training and validation blocks
            assertEquals(List.of(before + 2), persisted, "persisted RDDs when the blocks were cached");
            assertArrayEquals(kept, model.network().params().toFloatVector(),
                    "the epochs read the blocks only: the same weights with the input unpersisted");
        } finally {
            images.unpersist();
        }
    }

    private static float[] fit(Dataset<Row> images, String blockBytes) {
        SparkSession spark = images.sparkSession();
        if (blockBytes != null) {
            spark.conf().set(ImageBlocks.BLOCK_BYTES_CONF, blockBytes);
        }
        try {
            CnnClassifierModel model = new CnnClassifier().setEpochs(2).setNumWorkers(2).setSeed(13)
                    .setAugmentation("flip=horizontal,rotate=10").setValidationFraction(0.2).fit(images);
            assertTrue(model.summary().workers() == 2, "two workers");
            return model.network().params().toFloatVector();
        } finally {
            spark.conf().unset(ImageBlocks.BLOCK_BYTES_CONF);
        }
    }
}
