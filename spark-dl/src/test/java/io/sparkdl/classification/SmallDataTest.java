package io.sparkdl.classification;

import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.WorkerPlan;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 20: on small data the defaults make as much progress per epoch as one process (fewer workers, more
 * averaging rounds), and a trivially separable 100-image folder is learnt in 5 epochs on every engine.
 */
class SmallDataTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void twoColourFolder() throws Exception {
        // 50 reddish and 50 bluish 24x24 photos with noise, as a class-per-folder lake
        Random r = new Random(3);
        for (String cls : new String[]{"red", "blue"}) {
            Files.createDirectories(dir.resolve(cls));
            for (int i = 0; i < 50; i++) {
                BufferedImage img = new BufferedImage(24, 24, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 24; y++) {
                    for (int x = 0; x < 24; x++) {
                        int hi = 150 + r.nextInt(100);
                        int lo = r.nextInt(90);
                        int g = r.nextInt(120);
                        img.setRGB(x, y, cls.equals("red") ? (hi << 16) | (g << 8) | lo : (lo << 16) | (g << 8) | hi);
                    }
                }
                ImageIO.write(img, "png", dir.resolve(cls + "/" + i + ".png").toFile());
            }
        }
    }

    @Test
    void smallDataTrainsWithFewerWorkersAndMoreRounds() {
        // 8,000 images of batch 64 are 125 minibatches: one worker, i.e. exactly one process
        WorkerPlan small = WorkerPlan.choose(8_000, 64, false, 0, 2, 5, false, -1);
        assertEquals(1, small.workers());
        assertEquals(0.0, small.blockMomentum());
        assertTrue(small.describe().startsWith("8,000 training images: batch 64, 1 worker, averaging every 5 minibatches"),
                small.describe());
        assertTrue(small.describe().contains("rather than 2"), small.describe());
        // Fashion-MNIST's 60,000: 937 minibatches, both cores, block momentum 1 - 1/2, nothing to say
        WorkerPlan full = WorkerPlan.choose(60_000, 64, false, 0, 2, 5, false, -1);
        assertEquals(2, full.workers());
        assertEquals(5, full.averagingFrequency());
        assertEquals(0.5, full.blockMomentum());
        assertEquals("", full.note());
        // asked-for workers are kept, but never more than minibatches; rounds scale to the data
        WorkerPlan asked = WorkerPlan.choose(8_000, 64, false, 8, 2, 5, false, -1);
        assertEquals(8, asked.workers());
        assertEquals(3, asked.averagingFrequency(), "15 minibatches per worker: at least 4 rounds");
        assertEquals(0.875, asked.blockMomentum());
        assertEquals(5, WorkerPlan.choose(8_000, 64, false, 4, 2, 5, false, -1).averagingFrequency(),
                "31 minibatches per worker make 6 rounds of 5");
        assertEquals(2, WorkerPlan.choose(100, 64, true, 1000, 2, 5, false, -1).workers(),
                "a batch size the user set is kept: 2 minibatches, 2 workers");
        // tiny data: smaller automatic batches, so an epoch has 16 steps
        WorkerPlan tiny = WorkerPlan.choose(100, 64, false, 0, 2, 5, false, -1);
        assertEquals(7, tiny.batchSize());
        assertEquals(1, tiny.workers());
        assertTrue(tiny.describe().contains("batches of 7 rather than 64"), tiny.describe());
        assertEquals(64, WorkerPlan.choose(1_024, 64, false, 0, 2, 5, false, -1).batchSize());
        // a frequency and a momentum the user set are kept
        WorkerPlan set = WorkerPlan.choose(8_000, 64, false, 4, 2, 20, true, 0.3);
        assertEquals(20, set.averagingFrequency());
        assertEquals(0.3, set.blockMomentum());
    }

    @ParameterizedTest
    @ValueSource(strings = {"nd4j", "torch"})
    void aHundredImageTwoClassFolderIsLearntInFiveEpochs(String engine) {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> images = new ImageDecoder().setSize(24, 24).setChannels(3)
                .transform(ImageSources.readFolder(spark, dir.toString())).drop("content").cache();
        try {
            assertEquals(100, images.count());
            CnnClassifierModel model = new CnnClassifier().setEpochs(5).setEngine(engine).setSeed(11).fit(images);
            assertEquals(1, model.summary().workers(), "100 images on local[2]: one worker");
            long right = model.transform(images).where(col("predictedLabel").equalTo(col("label"))).count();
            assertTrue(right >= 98, engine + ": " + right + " of 100 right on the training folder after 5 epochs");
        } finally {
            images.unpersist();
        }
    }
}
