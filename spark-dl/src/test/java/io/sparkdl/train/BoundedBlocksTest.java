package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 17: a partition is cut into bounded blocks, and training on many small blocks is training on one. */
class BoundedBlocksTest {

    /** The images of {@code block} (1x12x12) cut again into blocks of at most {@code blockBytes} pixel bytes. */
    static List<ImageBlock> cut(ImageBlock block, long blockBytes) {
        List<ImageBlocks.LabelledImage> images = new ArrayList<>();
        int len = block.channels() * block.height() * block.width();
        for (int i = 0; i < block.size(); i++) {
            images.add(new ImageBlocks.LabelledImage(
                    Arrays.copyOfRange(block.pixels(), i * len, (i + 1) * len), block.label(i)));
        }
        List<ImageBlock> out = new ArrayList<>();
        ImageBlocks.cut(images.iterator(), block.channels(), block.height(), block.width(), blockBytes)
                .forEachRemaining(out::add);
        return out;
    }

    @Test
    void blocksHoldAtMostTheBudgetAndKeepTheImagesInOrder() {
        ImageBlock all = ParameterAveragingTest.syntheticBlock(4, 10); // 144 bytes an image
        // an exact multiple: 10 images of 144 bytes in blocks of 720 bytes are 2 full blocks
        List<ImageBlock> exact = cut(all, 720);
        assertEquals(List.of(5, 5), exact.stream().map(ImageBlock::size).toList());
        // a budget between multiples rounds down; the last block takes the rest
        List<ImageBlock> rest = cut(all, 4 * 144 + 100);
        assertEquals(List.of(4, 4, 2), rest.stream().map(ImageBlock::size).toList());
        // an image bigger than the budget: one image per block
        List<ImageBlock> single = cut(all, 100);
        assertEquals(10, single.size());
        assertTrue(single.stream().allMatch(b -> b.size() == 1 && b.pixels().length == 144));
        // every block within its budget (or one image), and the blocks in order are the images in order
        for (long budget : new long[]{720, 4 * 144 + 100, 100, 144, 1L << 30}) {
            List<ImageBlock> blocks = cut(all, budget);
            byte[] px = new byte[0];
            int[] labels = new int[0];
            for (ImageBlock b : blocks) {
                assertTrue(b.pixels().length == b.size() * 144 && (b.pixels().length <= budget || b.size() == 1),
                        budget + ": a block of " + b.size());
                px = concat(px, b.pixels());
                int[] l = Arrays.copyOf(labels, labels.length + b.size());
                System.arraycopy(b.labels(), 0, l, labels.length, b.size());
                labels = l;
            }
            assertArrayEquals(all.pixels(), px);
            assertArrayEquals(all.labels(), labels);
        }
        assertEquals(1, cut(all, 1L << 30).size());
        // an empty partition has no blocks
        assertFalse(ImageBlocks.cut(List.<ImageBlocks.LabelledImage>of().iterator(), 1, 12, 12, 720).hasNext());
        // a wrongly sized image is refused with both sizes
        Iterator<ImageBlock> bad = ImageBlocks.cut(List.of(new ImageBlocks.LabelledImage(new byte[10], 0)).iterator(),
                1, 12, 12, 720);
        String msg = assertThrows(IllegalArgumentException.class, bad::next).getMessage();
        assertTrue(msg.contains("10 bytes") && msg.contains("144 bytes"), msg);
    }

    @Test
    void theBudgetIsASparkSizeSettingNamedInErrors() {
        assertEquals(16L << 20, ImageBlocks.blockBytes(null));
        assertEquals(16L << 20, ImageBlocks.blockBytes(""));
        assertEquals(32L << 20, ImageBlocks.blockBytes("32m"));
        assertEquals(512 * 1024, ImageBlocks.blockBytes("512k"));
        assertEquals(5000, ImageBlocks.blockBytes("5000"));
        for (String bad : new String[]{"lots", "0", "-5", "4g"}) {
            String msg = assertThrows(IllegalArgumentException.class, () -> ImageBlocks.blockBytes(bad)).getMessage();
            assertTrue(msg.startsWith("spark.sparkdl.train.blockBytes = '" + bad + "'"), msg);
        }
        assertEquals(111, ImageBlocks.imagesPerBlock(16L << 20, 224 * 224 * 3));
        assertEquals(1, ImageBlocks.imagesPerBlock(1, 224 * 224 * 3));
    }

    @Test
    void aRoundGathersItsImagesAcrossBlocksInTheEpochOrder() {
        ImageBlock all = ParameterAveragingTest.syntheticBlock(8, 53);
        int[] order = ImageBlock.epochOrder(3, 1, 0, 53);
        List<ImageBlock> blocks = cut(all, 5 * 144);
        for (int[] range : new int[][]{{0, 16}, {16, 48}, {48, 53}, {0, 53}}) {
            AveragingRound.Gathered g = AveragingRound.gather(blocks.iterator(), order, range[0], range[1], 53, 0);
            ImageBlock b = g.block();
            assertEquals(range[1] - range[0], b.size());
            for (int k = 0; k < b.size(); k++) {
                int index = order[range[0] + k];
                assertEquals(index, g.ids()[k]);
                assertEquals(all.label(index), b.label(k));
                assertArrayEquals(Arrays.copyOfRange(all.pixels(), index * 144, index * 144 + 144),
                        Arrays.copyOfRange(b.pixels(), k * 144, k * 144 + 144));
            }
            // reading stops after the last block holding one of the round's images
            int last = Arrays.stream(order, range[0], range[1]).max().orElseThrow();
            assertEquals(last / 5 + 1, g.blocksRead());
        }
        String msg = assertThrows(IllegalStateException.class,
                () -> AveragingRound.gather(blocks.subList(0, 3).iterator(), order, 0, 53, 53, 4)).getMessage();
        assertTrue(msg.contains("partition 4 was counted with 53 training images, but its cached blocks hold 15"), msg);
    }

    @Test
    void manySmallBlocksTrainExactlyLikeOneBlockPerPartition() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        ImageBlock p0 = ParameterAveragingTest.syntheticBlock(1, 150);
        ImageBlock p1 = ParameterAveragingTest.syntheticBlock(2, 150);
        // 7 images a block: 22 blocks per partition, the last of 3; minibatches of 16 and rounds of 2 minibatches
        // cross block boundaries
        List<ImageBlock> small = new ArrayList<>(cut(p0, 7 * 144));
        small.addAll(cut(p1, 7 * 144));
        assertEquals(44, small.size());
        JavaRDD<ImageBlock> one = sc.parallelize(List.of(p0, p1), 2).persist(StorageLevel.MEMORY_AND_DISK());
        // the small blocks on disk only: every round reads them back through Kryo, as spilled blocks are
        JavaRDD<ImageBlock> many = sc.parallelize(small, 2).persist(StorageLevel.DISK_ONLY());
        try {
            assertEquals(List.of(150, 150), TrainingRun.sizes(many));
            assertEquals(List.of(22, 22), many.glom().map(List::size).collect());
            MultiLayerConfiguration conf = ParameterAveragingTest.conf("adam");
            MultiLayerNetwork init = new MultiLayerNetwork(conf);
            init.init();
            float[] start = init.params().toFloatVector();
            TrainingResult a = train(one, conf, start);
            TrainingResult b = train(many, conf, start);
            assertArrayEquals(a.params(), b.params(), "weights after 2 epochs");
            assertArrayEquals(a.updaterState(), b.updaterState(), "Adam's state after 2 epochs");
            for (int e = 0; e < 2; e++) {
                assertEquals(a.history().get(e).loss(), b.history().get(e).loss());
                assertEquals(a.history().get(e).trainAccuracy(), b.history().get(e).trainAccuracy(),
                        "the sampled train accuracy picks the same images across blocks");
            }
            double moved = 0;
            for (int i = 0; i < start.length; i++) {
                moved = Math.max(moved, Math.abs(start[i] - b.params()[i]));
            }
            assertTrue(moved > 1e-3, "training must move the weights: " + moved);
        } finally {
            one.unpersist();
            many.unpersist();
        }
    }

    @Test
    void oneWorkerOnSmallBlocksIsTheSingleProcessFitOfThePartition() {
        // the reference is the single-process fit of the whole partition as one block, augmented by each image's
        // number in the partition: what training did before blocks were bounded
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        int n = 150;
        int batch = 16;
        long seed = 99;
        ImageBlock all = ParameterAveragingTest.syntheticBlock(5, n);
        JavaRDD<ImageBlock> many = sc.parallelize(cut(all, 7 * 144), 1).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            MultiLayerConfiguration conf = ParameterAveragingTest.conf("adam");
            MultiLayerNetwork init = new MultiLayerNetwork(conf.clone());
            init.init();
            float[] start = init.params().toFloatVector();
            Normalization norm = new Normalization(new double[]{0.4}, new double[]{0.3});
            Augmentation aug = Augmentation.parse("rotate=10,translate=0.1,flip=horizontal,brightness=0.2");
            TrainingResult r = new EpochDriver(new ParameterAveraging(3, 2),
                    new TrainingConfig(EngineSpec.nd4j(conf.toJson()), 2, batch, seed, 1000))
                    .train(new TrainingData(many, null, 3, norm, aug), TrainingState.start(start.clone(), null));

            MultiLayerNetwork local = new MultiLayerNetwork(conf.clone());
            local.init();
            local.setParams(init.params().dup());
            for (int e = 0; e < 2; e++) {
                int[] order = ImageBlock.epochOrder(seed, e, 0, n);
                long augmentationSeed = (seed * 31 + e) * 1_000_003L;
                for (int s = 0; s < n; s += batch) {
                    local.fit(all.dataSet(order, s, Math.min(n, s + batch), 3, norm, aug, augmentationSeed));
                }
            }
            float[] expected = local.params().toFloatVector();
            double maxDiff = 0;
            double moved = 0;
            for (int i = 0; i < expected.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[i] - r.params()[i]));
                moved = Math.max(moved, Math.abs(expected[i] - start[i]));
            }
            assertTrue(maxDiff < 1e-5, "max parameter difference " + maxDiff);
            assertTrue(moved > 1e-3, "training did not change the weights");
        } finally {
            many.unpersist();
        }
    }

    /** 2 epochs, 2 workers, block momentum, augmentation and normalisation, a train accuracy sample of 100. */
    private static TrainingResult train(JavaRDD<ImageBlock> blocks, MultiLayerConfiguration conf, float[] start) {
        TrainingData data = new TrainingData(blocks, null, 3, new Normalization(new double[]{0.4}, new double[]{0.3}),
                Augmentation.parse("rotate=10,translate=0.1,flip=horizontal,brightness=0.2"));
        return new EpochDriver(new ParameterAveraging(2, 2, 0.5),
                new TrainingConfig(EngineSpec.nd4j(conf.toJson()), 2, 16, 77, 100))
                .train(data, TrainingState.start(start.clone(), null));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
