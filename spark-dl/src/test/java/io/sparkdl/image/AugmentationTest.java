package io.sparkdl.image;

import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.ImageBlock;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AugmentationTest {
    /** An asymmetric 1-channel 6x8 test image. */
    private static byte[] image() {
        byte[] px = new byte[6 * 8];
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                px[y * 8 + x] = (byte) (x < 3 && y > 1 ? 200 : 10 * x + y);
            }
        }
        return px;
    }

    private static float[] apply(String spec, byte[] px, long seed) {
        float[] out = new float[px.length];
        Augmentation.parse(spec).apply(px, 0, 1, 6, 8, out, 0, new SplittableRandom(seed));
        return out;
    }

    private static float[] plain(byte[] px) {
        float[] f = new float[px.length];
        for (int i = 0; i < px.length; i++) {
            f[i] = (px[i] & 0xff) * (1f / 255f);
        }
        return f;
    }

    @Test
    void specsParseCanonicallyAndRejectNonsense() {
        assertTrue(Augmentation.parse("").isNone());
        assertTrue(Augmentation.parse("rotate=0,flip=none").isNone());
        assertEquals("rotate=10,flip=horizontal", Augmentation.parse(" rotate=10 , FLIP=horizontal").spec());
        assertEquals(Augmentation.parse("translate=0.1,contrast=0.2"),
                ImageAugmenter.fromSpec("translate=0.1,contrast=0.2").augmentation());
        for (String bad : new String[]{"rotate", "spin=3", "rotate=x", "rotate=400", "flip=diagonal",
                "translate=0.1,translate=0.2", "brightness=-0.1"}) {
            assertThrows(IllegalArgumentException.class, () -> Augmentation.parse(bad), bad);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Augmentation.parse("spin=3")).getMessage()
                .contains("'spin' is unknown"));
    }

    @Test
    void noneIsScalingAndDrawsAreReproducible() {
        byte[] px = image();
        assertArrayEquals(plain(px), apply("", px, 1));
        String spec = "rotate=20,translate=0.2,rescale=0.2,stretch=0.1,shear=10,brightness=0.1,contrast=0.3";
        assertArrayEquals(apply(spec, px, 5), apply(spec, px, 5), "same seed, same image");
        assertFalse(java.util.Arrays.equals(apply(spec, px, 5), apply(spec, px, 6)), "another seed, another draw");
        for (float v : apply(spec, px, 7)) {
            assertTrue(v >= 0 && v <= 1, "values stay in [0, 1]");
        }
    }

    @Test
    void flipMirrorsHalfTheTime() {
        byte[] px = image();
        float[] id = plain(px);
        float[] mirror = new float[id.length];
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                mirror[y * 8 + x] = id[y * 8 + 7 - x];
            }
        }
        int flipped = 0;
        for (long seed = 0; seed < 200; seed++) {
            float[] out = apply("flip=horizontal", px, seed);
            boolean isMirror = java.util.Arrays.equals(out, mirror);
            assertTrue(isMirror || java.util.Arrays.equals(out, id), "a flip is exact");
            flipped += isMirror ? 1 : 0;
        }
        assertTrue(flipped > 70 && flipped < 130, "about half flipped: " + flipped);
    }

    @Test
    void translationShiftsAndBrightnessAdds() {
        byte[] px = new byte[6 * 8];
        px[2 * 8 + 3] = (byte) 255;
        // translate=0.25 shifts by whole pixels (up to 2 across, 1.5 down): the dot moves intact
        int moved = 0;
        for (long seed = 0; seed < 20; seed++) {
            float[] out = apply("translate=0.25", px, seed);
            int ones = 0;
            float mass = 0;
            for (float v : out) {
                mass += v;
                ones += v == 1f ? 1 : 0;
            }
            assertEquals(1, ones, "a whole-pixel shift does not blur");
            assertEquals(1f, mass, 1e-6f);
            moved += out[2 * 8 + 3] == 1f ? 0 : 1;
        }
        assertTrue(moved > 10, "most draws move the dot: " + moved);
        byte[] flat = new byte[6 * 8];
        java.util.Arrays.fill(flat, (byte) 100);
        float[] b = apply("brightness=0.2", flat, 9);
        float delta = b[0] - 100 * (1f / 255f);
        assertTrue(Math.abs(delta) <= 0.2f + 1e-6 && Math.abs(delta) > 0, "an offset in [-0.2, 0.2]: " + delta);
        for (float v : b) {
            assertEquals(b[0], v, 1e-6f, "the same offset everywhere");
        }
    }

    @Test
    void rotationByTheDrawnAngleKeepsTheCentre() {
        // a 9x9 image with a bright centre: any rotation about the centre keeps the centre pixel
        byte[] px = new byte[81];
        px[40] = (byte) 255;
        float[] out = new float[81];
        Augmentation.parse("rotate=45").apply(px, 0, 1, 9, 9, out, 0, new SplittableRandom(4));
        assertEquals(1f, out[40], 1e-5f);
    }

    @Test
    void blocksDrawFreshAugmentationsForEachSeedAndNoneForValidation() {
        byte[] pixels = new byte[4 * 48];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 7);
        }
        ImageBlock block = new ImageBlock(4, 1, 6, 8, pixels, new int[]{0, 1, 0, 1});
        Augmentation aug = Augmentation.parse("rotate=30,translate=0.1");
        float[] epoch1 = block.features(null, 0, 4, null, aug, 101).reshape(-1).toFloatVector();
        float[] again = block.features(null, 0, 4, null, aug, 101).reshape(-1).toFloatVector();
        float[] epoch2 = block.features(null, 0, 4, null, aug, 102).reshape(-1).toFloatVector();
        assertArrayEquals(epoch1, again);
        assertFalse(java.util.Arrays.equals(epoch1, epoch2));
        // an image's draw depends on the seed and the image, not on where it sits in the minibatch
        float[] reversed = block.features(new int[]{3, 2, 1, 0}, 0, 4, null, aug, 101).reshape(-1).toFloatVector();
        assertArrayEquals(java.util.Arrays.copyOfRange(epoch1, 0, 48), java.util.Arrays.copyOfRange(reversed, 144, 192));
        Normalization n = new Normalization(new double[]{0.5}, new double[]{0.25});
        float[] normed = block.features(null, 0, 1, n, Augmentation.NONE, 0).reshape(-1).toFloatVector();
        assertEquals(((pixels[5] & 0xff) / 255f - 0.5f) / 0.25f, normed[5], 1e-5f);
    }

    @Test
    void augmenterMarksTheColumnAndWritesSeededCopies() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 2);
        ImageAugmenter aug = new ImageAugmenter().setRotate(10).setFlip("horizontal").setOutputCol("aug").setSeed(3);
        Dataset<Row> out = aug.transform(data);
        assertEquals(Augmentation.parse("rotate=10.0,flip=horizontal"),
                ImageMetadata.augmentation(out.schema().apply("image")));
        List<Row> a = out.select("path", "image", "aug").orderBy("path").collectAsList();
        List<Row> b = aug.transform(data).select("path", "aug").orderBy("path").collectAsList();
        int changed = 0;
        for (int i = 0; i < a.size(); i++) {
            Row orig = a.get(i).getStruct(1);
            Row copy = a.get(i).getStruct(2);
            assertEquals(orig.getInt(1), copy.getInt(1));
            assertEquals(orig.getInt(3), copy.getInt(3));
            assertArrayEquals((byte[]) copy.get(5), (byte[]) b.get(i).getStruct(1).get(5), "reproducible per seed");
            changed += java.util.Arrays.equals((byte[]) orig.get(5), (byte[]) copy.get(5)) ? 0 : 1;
        }
        assertTrue(changed > a.size() / 2, "most copies differ from their image: " + changed);
        assertThrows(IllegalArgumentException.class, () -> new ImageAugmenter().setRotate(500));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new ImageAugmenter().setInputCol("nope").transform(data)).getMessage().contains("nope"));
    }

    @Test
    void aPipelineAugmentsWhileFittingOnly() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 6).cache();
        io.sparkdl.classification.CnnClassifier cnn = new io.sparkdl.classification.CnnClassifier().setEpochs(1)
                .setBatchSize(16).setNumWorkers(2).setSeed(8);
        PipelineModel pm = new Pipeline().setStages(new PipelineStage[]{
                new ImageAugmenter().setRotate(15).setTranslate(0.1), cnn}).fit(data);
        io.sparkdl.classification.CnnClassifierModel viaMetadata =
                (io.sparkdl.classification.CnnClassifierModel) pm.stages()[1];
        io.sparkdl.classification.CnnClassifierModel viaParam = cnn.copy(org.apache.spark.ml.param.ParamMap.empty())
                .setAugmentation("rotate=15,translate=0.1").fit(data);
        io.sparkdl.classification.CnnClassifierModel clean = cnn.copy(org.apache.spark.ml.param.ParamMap.empty())
                .fit(data);
        assertArrayEquals(viaParam.network().params().toFloatVector(), viaMetadata.network().params().toFloatVector(),
                "the augmenter's metadata and the param train the same");
        assertFalse(java.util.Arrays.equals(clean.network().params().toFloatVector(),
                viaParam.network().params().toFloatVector()), "augmentation changed what was learnt");
        // predicting through the pipeline does not augment: same output as the model on raw images
        List<Row> p1 = pm.transform(data).select("path", "probability").orderBy("path").collectAsList();
        List<Row> p2 = viaMetadata.transform(data).select("path", "probability").orderBy("path").collectAsList();
        assertEquals(p2, p1);
        data.unpersist();
    }
}
