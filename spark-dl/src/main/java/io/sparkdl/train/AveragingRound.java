package io.sparkdl.train;

import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * The executor side of one averaging round, for one partition: copy the partition's next {@code frequency}
 * minibatches of the epoch's order out of its cached blocks (one pass over them, one block at a time), borrow
 * the run's network from the {@link NetworkPool}, set the broadcast weights, updater state and iteration count,
 * fit those minibatches, and send back weights, updater state and loss
 * as a {@link WorkerResult}; {@link Sum} adds them up weighted by the minibatches each worker ran.
 */
final class AveragingRound implements LazyPartitions.Fn<ImageBlock, AveragingRound.WorkerResult> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(AveragingRound.class);

    private final String runId;
    private final Broadcast<EngineSpec> engine;
    private final Broadcast<float[]> params;
    private final Broadcast<float[]> state;
    private final int epoch;
    private final int round;
    private final int iteration;
    private final int frequency;
    private final int batchSize;
    private final long seed;
    private final Normalization normalization;
    private final Augmentation augmentation;
    private final int[] partitionSizes;
    private final long readAheadBytes;

    /**
     * @param epoch     0-based, as the minibatch order, augmentation and dropout seeds take it
     * @param round     0-based within the epoch
     * @param iteration global minibatch steps before this round
     * @param state     the updater state, or null (fresh)
     */
    AveragingRound(TrainingRun run, Broadcast<float[]> params, Broadcast<float[]> state, int epoch, int round,
                   int iteration, int frequency) {
        this.runId = run.id();
        this.engine = run.engine();
        this.params = params;
        this.state = state;
        this.epoch = epoch;
        this.round = round;
        this.iteration = iteration;
        this.frequency = frequency;
        this.batchSize = run.config().batchSize();
        this.seed = run.config().seed();
        this.normalization = run.data().normalization();
        this.augmentation = run.data().augmentation();
        this.partitionSizes = run.partitionSizes().stream().mapToInt(Integer::intValue).toArray();
        this.readAheadBytes = ReadAhead.bytes(run.sc().getConf().get(ReadAhead.CONF, ""));
    }

    @Override
    public Iterator<WorkerResult> call(int partition, java.util.function.Supplier<Iterator<ImageBlock>> blocks) {
        int n = partitionSizes[partition];
        int start = (int) Math.min(n, (long) round * frequency * batchSize);
        int end = (int) Math.min(n, (long) start + (long) frequency * batchSize);
        if (start >= end) {
            return Collections.emptyIterator();
        }
        long t0 = System.nanoTime();
        Gathered images = ReadAhead.images(runId, epoch, partition, round, frequency * batchSize, readAheadBytes,
                blocks, () -> ImageBlock.epochOrder(seed, epoch, partition, n), n);
        long t1 = System.nanoTime();
        WorkerResult result = fit(images, partition);
        long t2 = System.nanoTime();
        LOG.debug("spark-dl round {} of epoch {}, partition {}: {} images read from {} cached blocks in {} ms, "
                        + "trained in {} ms", round + 1, epoch + 1, partition, end - start, images.blocksRead(),
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
        return List.of(result.withTimes(t1 - t0, t2 - t1)).iterator();
    }

    /** A round's images in the epoch's order, with their numbers in the partition (augmentation draws by them). */
    record Gathered(ImageBlock block, int[] ids, int blocksRead) {
    }

    /**
     * Copies the partition's images {@code order[start..end)} out of its blocks, in that order. The blocks are
     * read one at a time and in order (images numbered across them), and reading stops after the last block
     * that holds one of them, so memory holds the round's images and one block.
     */
    static Gathered gather(Iterator<ImageBlock> blocks, int[] order, int start, int end, int n, int partition) {
        return gather(blocks, order, start, imageBytes -> end, n, partition);
    }

    /**
     * {@link #gather(Iterator, int[], int, int, int, int)} with the end chosen once the image size is known (from
     * the first block): {@code endForImageBytes} maps an image's bytes to the end.
     */
    static Gathered gather(Iterator<ImageBlock> blocks, int[] order, int start,
                           java.util.function.IntUnaryOperator endForImageBytes, int n, int partition) {
        if (!blocks.hasNext()) {
            throw new IllegalStateException("partition " + partition + " was counted with " + n
                    + " training images, but it holds no cached blocks");
        }
        ImageBlock b = blocks.next();
        int c = b.channels();
        int h = b.height();
        int w = b.width();
        int len = b.imageLength();
        int count = endForImageBytes.applyAsInt(len) - start;
        if ((long) count * len > ImageBlocks.MAX_ARRAY) {
            throw new IllegalArgumentException("an averaging round of " + count + " images of " + c + "x" + h
                    + "x" + w + " does not fit in a Java array: lower batchSize or averagingFrequency");
        }
        // (index in the partition, slot in the round), sorted by index: one pass over the blocks fills every slot
        long[] wanted = new long[count];
        for (int k = 0; k < count; k++) {
            wanted[k] = ((long) order[start + k] << 32) | k;
        }
        Arrays.sort(wanted);
        byte[] px = new byte[count * len];
        int[] labels = new int[count];
        int[] ids = new int[count];
        int q = 0;
        long offset = 0;
        int read = 0;
        while (true) {
            read++;
            if (b.imageLength() != len) {
                throw new IllegalStateException("partition " + partition + " holds blocks of images of " + c + "x" + h
                        + "x" + w + " and of " + b.channels() + "x" + b.height() + "x" + b.width());
            }
            long hi = offset + b.size();
            while (q < count && (wanted[q] >>> 32) < hi) {
                int index = (int) (wanted[q] >>> 32);
                int slot = (int) wanted[q];
                int local = (int) (index - offset);
                System.arraycopy(b.pixels(), local * len, px, slot * len, len);
                labels[slot] = b.label(local);
                ids[slot] = index;
                q++;
            }
            offset = hi;
            if (q >= count || !blocks.hasNext()) {
                break;
            }
            b = blocks.next();
        }
        if (q < count) {
            throw new IllegalStateException("partition " + partition + " was counted with " + n
                    + " training images, but its cached blocks hold " + offset);
        }
        return new Gathered(new ImageBlock(count, c, h, w, px, labels), ids, read);
    }

    private WorkerResult fit(Gathered images, int partition) {
        ImageBlock block = images.block();
        // fresh draws each epoch, the same on a re-run task
        long augmentationSeed = (seed * 31 + epoch) * 1_000_003L + partition;
        EngineNetwork net = NetworkPool.borrow(runId,
                engine.value().forInput(block.height(), block.width(), block.channels()));
        try {
            net.setParams(params.value());
            net.setUpdaterState(state == null ? null : state.value());
            net.setIteration(iteration, epoch);
            // dropout masks are seeded from (seed, epoch, round, partition), so they do not depend on
            // what that executor thread ran before
            net.setSeed(((seed * 31 + epoch) * 1_000_003L + round) * 1_009L + partition);
            double loss = 0;
            int batches = 0;
            int end = block.size();
            for (int s = 0; s < end; s += batchSize) {
                int e = Math.min(end, s + batchSize);
                loss += net.fit(block.featureArray(null, s, e, normalization, augmentation, augmentationSeed,
                        images.ids()), block.labels(null, s, e), e - s) * (e - s);
                batches++;
            }
            return new WorkerResult(net.params(), net.updaterState(), batches, end, loss, 0, 0);
        } finally {
            NetworkPool.giveBack(runId, net);
        }
    }

    /**
     * What one worker sends back after a round.
     *
     * @param readNanos  time spent reading the round's images out of the cached blocks
     * @param trainNanos time spent fitting them
     */
    record WorkerResult(float[] params, float[] state, int batches, long examples, double lossSum, long readNanos,
                        long trainNanos) implements Serializable {
        WorkerResult withTimes(long read, long train) {
            return new WorkerResult(params, state, batches, examples, lossSum, read, train);
        }
    }

    /**
     * Running weighted sum of worker results (weights = minibatches run).
     *
     * <p>A task's sum holds one worker's result, and it travels to the driver as that worker's fp32 vectors and
     * weight (half the bytes of fp64 sums, and no conversion on the executor); the fp64 running sums exist only
     * where two results meet ({@link #merge}, on the driver). A sum of one result gives back exactly its
     * vectors.
     */
    static final class Sum implements Serializable {
        private static final long serialVersionUID = 2L;
        /** The only result so far (with its weight), before any fp64 sum exists. */
        float[] singleParams;
        float[] singleState;
        double[] params;
        double[] state;
        long batches;
        int maxBatches;
        long examples;
        double lossSum;
        long readNanos;
        long trainNanos;

        Sum add(WorkerResult w) {
            if (w.batches() == 0) {
                return this;
            }
            if (batches == 0) {
                singleParams = w.params();
                singleState = w.state();
            } else {
                widen();
                accumulate(params, w.params(), w.batches());
                if (w.state() != null) {
                    state = state == null ? new double[w.state().length] : state;
                    accumulate(state, w.state(), w.batches());
                }
            }
            batches += w.batches();
            maxBatches = Math.max(maxBatches, w.batches());
            examples += w.examples();
            lossSum += w.lossSum();
            readNanos += w.readNanos();
            trainNanos += w.trainNanos();
            return this;
        }

        Sum merge(Sum o) {
            if (o.batches == 0) {
                return this;
            }
            if (batches == 0) {
                return o;
            }
            widen();
            o.widen();
            for (int i = 0; i < params.length; i++) {
                params[i] += o.params[i];
            }
            if (state != null && o.state != null) {
                for (int i = 0; i < state.length; i++) {
                    state[i] += o.state[i];
                }
            }
            batches += o.batches;
            maxBatches = Math.max(maxBatches, o.maxBatches);
            examples += o.examples;
            lossSum += o.lossSum;
            readNanos += o.readNanos;
            trainNanos += o.trainNanos;
            return this;
        }

        /** Turns a single result into fp64 weighted sums. */
        private void widen() {
            if (singleParams == null) {
                return;
            }
            params = new double[singleParams.length];
            accumulate(params, singleParams, batches);
            if (singleState != null) {
                state = new double[singleState.length];
                accumulate(state, singleState, batches);
            }
            singleParams = null;
            singleState = null;
        }

        private static void accumulate(double[] acc, float[] v, long weight) {
            for (int i = 0; i < v.length; i++) {
                acc[i] += (double) v[i] * weight;
            }
        }

        float[] meanParams() {
            return singleParams != null ? singleParams.clone() : mean(params);
        }

        float[] meanState() {
            if (singleParams != null) {
                return singleState == null ? null : singleState.clone();
            }
            return state == null ? null : mean(state);
        }

        private float[] mean(double[] a) {
            float[] m = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                m[i] = (float) (a[i] / batches);
            }
            return m;
        }
    }
}
