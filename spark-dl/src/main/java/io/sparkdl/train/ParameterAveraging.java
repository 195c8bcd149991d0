package io.sparkdl.train;

import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Synchronous parameter averaging, one epoch of rounds at a time (the {@link EpochDriver} runs the epochs).
 *
 * <p>Each round the driver broadcasts the weights and updater state; every partition's worker
 * ({@link AveragingRound}) sets them into its cached network, fits its next {@code averagingFrequency}
 * minibatches, and returns weights and updater state; a tree aggregation sums them weighted by the
 * minibatches each worker ran, and the driver divides. Only weights travel: data stays in the cached
 * blocks on the executors.
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
 * is plain averaging, bit for bit. Updater state is averaged either way. The velocity is part of the
 * {@link TrainingState}, so a run resumed from a checkpoint goes on exactly.
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
    public EpochResult runEpoch(TrainingRun run, TrainingState state) {
        int epoch = state.epochsDone(); // 0-based, as the seeds take it
        int rounds = rounds(run);
        float[] params = state.params();
        float[] updater = state.updaterState();
        // Block momentum: params is the filtered global model w, velocity v; rounds start from the look-ahead
        // w + mu v (computed as after the last round, so epochs and resumed runs continue bit for bit).
        float[] velocity = blockMomentum <= 0 ? null
                : state.velocity() != null ? state.velocity().clone() : new float[params.length];
        float[] start = lookAhead(params, velocity);
        int iteration = state.iteration();
        double lossSum = 0;
        long examples = 0;
        long batches = 0;
        long readNanos = 0;
        long trainNanos = 0;
        long t0 = System.nanoTime();
        for (int r = 0; r < rounds; r++) {
            run.describeJobs(epoch + 1, "averaging round " + (r + 1) + "/" + rounds);
            AveragingRound.Sum sum = round(run, start, updater, epoch, r, iteration);
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
            updater = sum.meanState();
            iteration += sum.maxBatches;
            lossSum += sum.lossSum;
            examples += sum.examples;
            batches += sum.batches;
            readNanos += sum.readNanos;
            trainNanos += sum.trainNanos;
        }
        LOG.info(String.format(Locale.ROOT, "epoch %d: %d rounds in %.1f s; summed over the workers, %.1f s reading "
                        + "cached blocks and %.1f s training (the rest: scheduling, broadcasts and averaging)",
                epoch + 1, rounds, (System.nanoTime() - t0) / 1e9, readNanos / 1e9, trainNanos / 1e9));
        return new EpochResult(params, updater, velocity, iteration, batches == 0 ? Double.NaN : lossSum / examples,
                examples);
    }

    /** One round as one Spark job: the workers fit from {@code start}, the sum comes back to the driver. */
    private AveragingRound.Sum round(TrainingRun run, float[] start, float[] updater, int epoch, int round,
                                     int iteration) {
        Broadcast<float[]> bp = run.sc().broadcast(start);
        Broadcast<float[]> bs = updater == null ? null : run.sc().broadcast(updater);
        try {
            // the partition's cached blocks are opened only when the read-ahead does not hold the round's images
            return new LazyPartitions<>(run.data().train().rdd(), new AveragingRound(run, bp, bs, epoch, round,
                    iteration, averagingFrequency), AveragingRound.WorkerResult.class).toJavaRDD()
                    .treeAggregate(new AveragingRound.Sum(), AveragingRound.Sum::add, AveragingRound.Sum::merge,
                            aggregationDepth);
        } finally {
            bp.destroy();
            if (bs != null) {
                bs.destroy();
            }
        }
    }

    /** Rounds per epoch: enough for the largest partition to see all its images. */
    private int rounds(TrainingRun run) {
        int largest = run.partitionSizes().stream().mapToInt(Integer::intValue).max().orElse(0);
        long perRound = (long) run.config().batchSize() * averagingFrequency;
        int rounds = (int) ((largest + perRound - 1) / perRound);
        LOG.debug("{} rounds of {} minibatches of {} per epoch", rounds, averagingFrequency,
                run.config().batchSize());
        return rounds;
    }

    private float[] lookAhead(float[] params, float[] velocity) {
        if (velocity == null) {
            return params;
        }
        float mu = (float) blockMomentum;
        float[] ahead = new float[params.length];
        for (int i = 0; i < params.length; i++) {
            ahead[i] = params[i] + mu * velocity[i];
        }
        return ahead;
    }

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
}
