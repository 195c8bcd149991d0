package io.sparkdl.train;

import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;

import io.sparkdl.image.Augmentation;
import io.sparkdl.image.Normalization;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;

/**
 * Synchronous parameter averaging.
 *
 * <p>Each round the driver broadcasts the weights and updater state; every partition's worker sets
 * them into its cached network, fits its next {@code averagingFrequency} minibatches, and returns
 * weights and updater state; a tree aggregation sums them weighted by the minibatches each worker
 * ran, and the driver divides. Only weights travel: data stays in the cached blocks on the executors.
 *
 * <p>With one partition this is exactly DL4J's single-process {@code fit} on the same minibatch order
 * (a test checks it to 1e-5), because the updater state and the iteration count travel too.
 *
 * <p><b>Block momentum.</b> Plain averaging of K workers moves the weights about as far per round as one
 * worker does, so an epoch makes only 1/K of the sequential progress of a single process and accuracy
 * after a fixed number of epochs falls as K grows. With {@code blockMomentum} mu &gt; 0 the driver treats
 * each round's averaged displacement G as a block gradient (block-wise model update filtering, Chen and
 * Huo, ICASSP 2016): {@code v = mu v + G; w = w + v}, and the next round starts from the Nesterov
 * look-ahead {@code w + mu v}. {@code mu = 1 - 1/K} restores single-process progress per epoch; mu = 0
 * is plain averaging, bit for bit. Updater state is averaged either way.
 */
public final class ParameterAveraging implements TrainingStrategy {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ParameterAveraging.class);

    private final int averagingFrequency;
    private final int aggregationDepth;
    private final double blockMomentum;

    public ParameterAveraging(int averagingFrequency, int aggregationDepth) {
        this(averagingFrequency, aggregationDepth, 0.0);
    }

    /**
     * @param blockMomentum momentum applied by the driver to the averaged displacement of each round, in
     *                      [0, 1); 0 is plain averaging
     */
    public ParameterAveraging(int averagingFrequency, int aggregationDepth, double blockMomentum) {
        if (averagingFrequency < 1) {
            throw new IllegalArgumentException("averagingFrequency must be >= 1 but was " + averagingFrequency);
        }
        if (aggregationDepth < 1) {
            throw new IllegalArgumentException("aggregationDepth must be >= 1 but was " + aggregationDepth);
        }
        this.averagingFrequency = averagingFrequency;
        this.aggregationDepth = aggregationDepth;
        if (!(blockMomentum >= 0 && blockMomentum < 1)) {
            throw new IllegalArgumentException("blockMomentum must be in [0, 1) but was " + blockMomentum);
        }
        this.blockMomentum = blockMomentum;
    }

    /** BMUF's recommended block momentum for {@code workers} workers: {@code 1 - 1/workers}. */
    public static double defaultBlockMomentum(int workers) {
        return workers <= 1 ? 0.0 : 1.0 - 1.0 / workers;
    }

    @Override
    public String describe() {
        return "parameter averaging every " + averagingFrequency + " minibatches"
                + (blockMomentum > 0 ? ", block momentum " + blockMomentum : "");
    }

    @Override
    public TrainingResult train(TrainingJob job) {
        JavaSparkContext sc = job.sc();
        String runId = "train-" + UUID.randomUUID();
        Broadcast<EngineSpec> conf = sc.broadcast(job.engine());
        List<Integer> sizes = job.train().map(ImageBlock::size).collect();
        int workers = sizes.size();
        int largest = sizes.stream().mapToInt(Integer::intValue).max().orElse(0);
        if (largest == 0) {
            throw new IllegalArgumentException("No training images to fit");
        }
        long perRound = (long) job.batchSize() * averagingFrequency;
        int rounds = (int) ((largest + perRound - 1) / perRound);
        LOG.info("Training on {} workers ({} images, largest partition {}), {} rounds of {} minibatches of {} per epoch",
                workers, sizes.stream().mapToLong(Integer::longValue).sum(), largest, rounds, averagingFrequency,
                job.batchSize());

        TrainingJob.Checkpoint resume = job.resume();
        float[] params = (resume != null ? resume.params() : job.initialParams()).clone();
        float[] state = resume != null ? (resume.updaterState() == null ? null : resume.updaterState().clone())
                : job.updaterState() == null ? null : job.updaterState().clone();
        // Block momentum: params is the filtered global model w, velocity v, start the look-ahead w + mu v.
        float[] velocity = blockMomentum > 0 ? new float[params.length] : null;
        if (velocity != null && resume != null && resume.velocity() != null) {
            velocity = resume.velocity().clone();
        }
        float[] start = params;
        if (velocity != null) {
            start = new float[params.length];
            for (int i = 0; i < params.length; i++) {
                start[i] = params[i] + (float) blockMomentum * velocity[i];
            }
        }
        int iteration = resume != null ? resume.iteration() : 0;
        List<EpochStats> history = new ArrayList<>(resume != null ? resume.history() : List.of());
        int firstEpoch = resume != null ? resume.epochsDone() : 0;
        int patience = job.earlyStoppingPatience();
        int bestEpoch = resume != null ? resume.bestEpoch() : 0;
        float[] bestParams = resume != null && resume.bestParams() != null ? resume.bestParams().clone() : null;
        double bestAccuracy = bestEpoch > 0 ? resume.history().get(bestEpoch - 1).validationAccuracy()
                : Double.NEGATIVE_INFINITY;
        if (resume != null) {
            LOG.info("Resuming after epoch {} of {} (iteration {})", firstEpoch, job.epochs(), iteration);
        }
        try {
            for (int epoch = firstEpoch; epoch < job.epochs(); epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                long examples = 0;
                long batches = 0;
                for (int r = 0; r < rounds; r++) {
                    sc.setJobDescription("spark-dl train: epoch " + (epoch + 1) + "/" + job.epochs()
                            + ", averaging round " + (r + 1) + "/" + rounds);
                    Broadcast<float[]> bp = sc.broadcast(start);
                    Broadcast<float[]> bs = state == null ? null : sc.broadcast(state);
                    RoundWork work = new RoundWork(runId, conf, bp, bs, epoch, r, iteration, averagingFrequency,
                            job.batchSize(), job.numClasses(), job.seed(), job.normalization(), job.augmentation());
                    Sum sum = job.train().mapPartitionsWithIndex(work, true)
                            .treeAggregate(new Sum(), Sum::add, Sum::merge, aggregationDepth);
                    bp.destroy();
                    if (bs != null) {
                        bs.destroy();
                    }
                    if (sum.batches == 0) {
                        continue;
                    }
                    float[] mean = sum.meanParams();
                    checkFinite(sum.lossSum, mean, epoch + 1, r + 1, rounds);
                    if (velocity == null) {
                        params = mean;
                        start = params;
                    } else {
                        float mu = (float) blockMomentum;
                        float[] next = new float[params.length];
                        float[] ahead = new float[params.length];
                        for (int i = 0; i < next.length; i++) {
                            velocity[i] = mu * velocity[i] + (mean[i] - start[i]);
                            next[i] = params[i] + velocity[i];
                            ahead[i] = next[i] + mu * velocity[i];
                        }
                        params = next;
                        start = ahead;
                    }
                    state = sum.meanState();
                    iteration += sum.maxBatches;
                    lossSum += sum.lossSum;
                    examples += sum.examples;
                    batches += sum.batches;
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                sc.setJobDescription("spark-dl train: epoch " + (epoch + 1) + "/" + job.epochs() + ", evaluation");
                double trainAcc = Evaluation.accuracy(sc, job.train(), runId, conf, params, job.numClasses(),
                        job.trainAccuracySample(), job.normalization());
                double valAcc = job.validation() == null ? Double.NaN
                        : Evaluation.accuracy(sc, job.validation(), runId, conf, params, job.numClasses(),
                        Integer.MAX_VALUE, job.normalization());
                EpochStats st = new EpochStats(epoch + 1, batches == 0 ? Double.NaN : lossSum / examples, trainAcc,
                        valAcc, examples / seconds, seconds);
                history.add(st);
                job.onEpoch().accept(st);
                if (patience > 0 && (bestEpoch == 0 || valAcc > bestAccuracy)) {
                    bestEpoch = epoch + 1;
                    bestAccuracy = valAcc;
                    bestParams = params.clone();
                }
                if (job.onCheckpoint() != null) {
                    job.onCheckpoint().accept(new TrainingJob.Checkpoint(epoch + 1, iteration, params, state, velocity,
                            List.copyOf(history), bestEpoch, bestParams));
                }
                if (patience > 0 && epoch + 1 - bestEpoch >= patience && epoch + 1 < job.epochs()) {
                    LOG.info("Early stopping after epoch {}: validation accuracy has not improved for {} epochs since "
                            + "epoch {} ({})", epoch + 1, patience, bestEpoch, String.format("%.4f", bestAccuracy));
                    break;
                }
            }
        } finally {
            sc.clearJobGroup();
            sc.setJobDescription(null);
            conf.destroy();
        }
        if (patience > 0 && bestParams != null) {
            if (bestEpoch < history.size()) {
                LOG.info("Keeping the weights of epoch {} (best validation accuracy {}) instead of epoch {}",
                        bestEpoch, String.format("%.4f", bestAccuracy), history.size());
            }
            return new TrainingResult(bestParams, state, Collections.unmodifiableList(history), bestEpoch);
        }
        return new TrainingResult(params, state, Collections.unmodifiableList(history));
    }

    /** One partition's share of one round. */
    private static final class RoundWork implements Function2<Integer, Iterator<ImageBlock>, Iterator<WorkerResult>> {
        private final String runId;
        private final Broadcast<EngineSpec> conf;
        private final Broadcast<float[]> params;
        private final Broadcast<float[]> state;
        private final int epoch;
        private final int round;
        private final int iteration;
        private final int frequency;
        private final int batchSize;
        private final int numClasses;
        private final long seed;
        private final Normalization normalization;
        private final Augmentation augmentation;

        RoundWork(String runId, Broadcast<EngineSpec> conf, Broadcast<float[]> params, Broadcast<float[]> state,
                  int epoch, int round, int iteration, int frequency, int batchSize, int numClasses, long seed,
                  Normalization normalization, Augmentation augmentation) {
            this.normalization = normalization;
            this.augmentation = augmentation;
            this.runId = runId;
            this.conf = conf;
            this.params = params;
            this.state = state;
            this.epoch = epoch;
            this.round = round;
            this.iteration = iteration;
            this.frequency = frequency;
            this.batchSize = batchSize;
            this.numClasses = numClasses;
            this.seed = seed;
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
                int[] order = ImageBlock.epochOrder(seed, epoch, partition, block.size());
                // fresh draws each epoch, the same on a re-run task
                long augmentationSeed = (seed * 31 + epoch) * 1_000_003L + partition;
                EngineNetwork net = NetworkPool.borrow(runId,
                        conf.value().forInput(block.height(), block.width(), block.channels()));
                try {
                    net.setParams(params.value());
                    net.setUpdaterState(state == null ? null : state.value());
                    net.setIteration(iteration, epoch);
                    // dropout masks are seeded from (seed, epoch, round, partition), so they do not depend on
                    // what that executor thread ran before
                    net.setSeed(((seed * 31 + epoch) * 1_000_003L + round) * 1_009L + partition);
                    double loss = 0;
                    int nb = 0;
                    for (int s = start; s < end; s += batchSize) {
                        int e = Math.min(end, s + batchSize);
                        loss += net.fit(block.featureArray(order, s, e, normalization, augmentation, augmentationSeed),
                                block.labels(order, s, e), e - s) * (e - s);
                        nb++;
                    }
                    out.add(new WorkerResult(net.params(), net.updaterState(), nb, end - start, loss));
                } finally {
                    NetworkPool.giveBack(runId, net);
                }
            }
            return out.iterator();
        }
    }

    /** What one worker sends back after a round. */
    /**
     * A non-finite loss or weight ends training: nothing trained from there on is usable, and a model saved
     * from it would predict one class for everything.
     */
    static void checkFinite(double lossSum, float[] params, int epoch, int round, int rounds) {
        boolean finite = Double.isFinite(lossSum);
        for (int i = 0; finite && i < params.length; i++) {
            finite = Float.isFinite(params[i]);
        }
        if (!finite) {
            throw new TrainingDivergedException("training diverged in epoch " + epoch + " (averaging round " + round
                    + " of " + rounds + "): the " + (Double.isFinite(lossSum) ? "weights are" : "loss is")
                    + " no longer finite; nothing was saved. Try a smaller learning rate.");
        }
    }

    /** Training produced a non-finite loss or weights. */
    public static final class TrainingDivergedException extends IllegalStateException {
        TrainingDivergedException(String message) {
            super(message);
        }
    }

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
