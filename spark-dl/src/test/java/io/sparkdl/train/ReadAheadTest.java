package io.sparkdl.train;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One pass over a partition's blocks serves several rounds, with exactly the images a pass per round gives. */
class ReadAheadTest {

    @AfterEach
    void clear() {
        ReadAhead.clear();
    }

    /** Blocks that count how many times a pass starts (a new iterator) and how many blocks it reads. */
    static final class CountingBlocks {
        final List<ImageBlock> blocks;
        int passes;
        int blocksRead;

        CountingBlocks(List<ImageBlock> blocks) {
            this.blocks = blocks;
        }

        Iterator<ImageBlock> pass() {
            passes++;
            Iterator<ImageBlock> it = blocks.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public ImageBlock next() {
                    blocksRead++;
                    return it.next();
                }
            };
        }
    }

    @Test
    void roundsTakeTheSameImagesWithFarFewerPasses() {
        int n = 53;
        int perRound = 8; // 7 rounds, the last of 5 images
        ImageBlock all = ParameterAveragingTest.syntheticBlock(8, n); // 144 bytes an image
        List<ImageBlock> blocks = BoundedBlocksTest.cut(all, 5 * 144);
        for (int epoch = 0; epoch < 2; epoch++) {
            int[] order = ImageBlock.epochOrder(3, epoch, 0, n);
            // a budget of 3 rounds' images: passes at rounds 0, 3 and 6
            CountingBlocks counted = new CountingBlocks(blocks);
            for (int round = 0; round * perRound < n; round++) {
                AveragingRound.Gathered ahead = ReadAhead.images("run", epoch, 0, round, perRound, 3 * perRound * 144,
                        counted::pass, () -> order, n);
                AveragingRound.Gathered own = AveragingRound.gather(blocks.iterator(), order, round * perRound,
                        Math.min(n, (round + 1) * perRound), n, 0);
                assertArrayEquals(own.ids(), ahead.ids(), "round " + round);
                assertArrayEquals(own.block().labels(), ahead.block().labels());
                assertArrayEquals(own.block().pixels(), ahead.block().pixels());
                assertEquals(own.block().size(), ahead.block().size());
            }
            // only the rounds that start a span open the partition's blocks (a cached partition on disk costs
            // work as soon as it is opened): three passes, at rounds 0, 3 and 6
            assertEquals(3, counted.passes, "passes over the blocks");
            assertTrue(counted.blocksRead <= 3 * blocks.size(), counted.blocksRead + " blocks read");
            assertEquals(0, ReadAhead.held(), "the last round of a span drops it");
        }
    }

    @Test
    void aZeroBudgetPassesOncePerRoundAndARoundOutOfSpanGathersItself() {
        int n = 40;
        ImageBlock all = ParameterAveragingTest.syntheticBlock(2, n);
        List<ImageBlock> blocks = BoundedBlocksTest.cut(all, 4 * 144);
        int[] order = ImageBlock.epochOrder(5, 0, 1, n);
        CountingBlocks counted = new CountingBlocks(blocks);
        for (int round = 0; round < 5; round++) {
            ReadAhead.images("run", 0, 1, round, 8, 0, counted::pass, () -> order, n);
        }
        assertEquals(5, counted.passes, "no budget: a pass per round");
        assertEquals(0, ReadAhead.held());
        int perPass = counted.blocksRead;
        // a span of rounds 0-4 kept; a retried round 0 of another epoch, or of another run, reads for itself
        ReadAhead.images("run", 0, 1, 0, 8, 1 << 20, new CountingBlocks(blocks)::pass, () -> order, n);
        assertEquals(1, ReadAhead.held());
        CountingBlocks other = new CountingBlocks(blocks);
        int[] order1 = ImageBlock.epochOrder(5, 1, 1, n);
        AveragingRound.Gathered g = ReadAhead.images("run", 1, 1, 2, 8, 0, other::pass, () -> order1, n);
        assertTrue(other.blocksRead > 0);
        assertArrayEquals(Arrays.copyOfRange(order1, 16, 24), g.ids());
        assertTrue(perPass > 0);
    }

    @Test
    void theBudgetIsASparkSizeSettingNamedInErrors() {
        assertEquals(256L << 20, ReadAhead.bytes(null));
        assertEquals(0, ReadAhead.bytes("0"));
        assertEquals(64L << 20, ReadAhead.bytes("64m"));
        for (String bad : new String[]{"lots", "-5"}) {
            String msg = assertThrows(IllegalArgumentException.class, () -> ReadAhead.bytes(bad)).getMessage();
            assertTrue(msg.startsWith("spark.sparkdl.train.readAheadBytes = '" + bad + "'"), msg);
        }
        // 320 RGB images of 224x224 (48 MB) a round: 5 rounds in 256 MiB; never fewer than one
        assertEquals(5, ReadAhead.roundsPerPass(256L << 20, 320, 224 * 224 * 3));
        assertEquals(1, ReadAhead.roundsPerPass(0, 320, 224 * 224 * 3));
    }
}
