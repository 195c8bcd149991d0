package io.sparkdl.train;

import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The executor side of one averaging round, for one partition: borrow the run's network from the
 * {@link NetworkPool}, set the broadcast weights, updater state and iteration count, fit the partition's
 * next {@code frequency} minibatches of the epoch's order, and send back weights, updater state and loss
 * as a {@link WorkerResult}; {@link Sum} adds them up weighted by the minibatches each worker ran.
 */
final class AveragingRound implements Function2<Integer, Iterator<ImageBlock>, Iterator<AveragingRound.WorkerResult>> {
    private static final long serialVersionUID = 1L;

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
    }

    @Override
    public Iterator<WorkerResult> call(Integer partition, Iterator<ImageBlock> blocks) {
        List<WorkerResult> out = new ArrayList<>(1);
        while (blocks.hasNext()) {
            ImageBlock block = blocks.next();
            int start = round * frequency * batchSize;
            if (start >= block.size()) {
                continue;
            }
            int end = Math.min(block.size(), start + frequency * batchSize);
            out.add(fit(block, partition, start, end));
        }
        return out.iterator();
    }

    private WorkerResult fit(ImageBlock block, int partition, int start, int end) {
        int[] order = ImageBlock.epochOrder(seed, epoch, partition, block.size());
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
            for (int s = start; s < end; s += batchSize) {
                int e = Math.min(end, s + batchSize);
                loss += net.fit(block.featureArray(order, s, e, normalization, augmentation, augmentationSeed),
                        block.labels(order, s, e), e - s) * (e - s);
                batches++;
            }
            return new WorkerResult(net.params(), net.updaterState(), batches, end - start, loss);
        } finally {
            NetworkPool.giveBack(runId, net);
        }
    }

    /** What one worker sends back after a round. */
    record WorkerResult(float[] params, float[] state, int batches, long examples, double lossSum)
            implements Serializable {
    }

    /** Running weighted sum of worker results (weights = minibatches run). */
    static final class Sum implements Serializable {
        private static final long serialVersionUID = 1L;
        double[] params;
        double[] state;
        long batches;
        int maxBatches;
        long examples;
        double lossSum;

        Sum add(WorkerResult w) {
            if (w.batches() == 0) {
                return this;
            }
            params = accumulate(params, w.params(), w.batches());
            if (w.state() != null) {
                state = accumulate(state, w.state(), w.batches());
            }
            batches += w.batches();
            maxBatches = Math.max(maxBatches, w.batches());
            examples += w.examples();
            lossSum += w.lossSum();
            return this;
        }

        Sum merge(Sum o) {
            if (o.batches == 0) {
                return this;
            }
            if (batches == 0) {
                return o;
            }
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
            return this;
        }

        private static double[] accumulate(double[] acc, float[] v, int weight) {
            if (acc == null) {
                acc = new double[v.length];
            }
            for (int i = 0; i < v.length; i++) {
                acc[i] += (double) v[i] * weight;
            }
            return acc;
        }

        float[] meanParams() {
            return mean(params);
        }

        float[] meanState() {
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
