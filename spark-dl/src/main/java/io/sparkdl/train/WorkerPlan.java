package io.sparkdl.train;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How many workers train, how often they average and with what block momentum, chosen from the size of the
 * training data once it is known. Parameter averaging with W workers makes about 1/W of the sequential steps per
 * epoch that one process makes; on large data block momentum makes up for it, but on small data an epoch has
 * too few rounds for that, and the run ends behind a single process at equal epochs. So, unless the user chose:
 * <ul>
 *   <li><b>batch size</b> (when not set): smaller on tiny data, so an epoch has at least
 *   {@link #MIN_BATCHES_PER_EPOCH} steps (100 images: batches of 7, not 2 steps of 64);</li>
 *   <li><b>workers</b> (numWorkers 0 = auto): the cluster's parallelism, but fewer, down to one, while a worker
 *   would get fewer than {@link #MIN_BATCHES_PER_WORKER} minibatches per epoch (1 worker = exactly a single
 *   process). Asked-for workers are kept, except that no worker is left without a minibatch;</li>
 *   <li><b>averaging frequency</b> (when not set): at most a quarter of a worker's minibatches per epoch, so an
 *   epoch has at least four averaging rounds;</li>
 *   <li><b>block momentum</b> (-1 = auto): {@code 1 - 1/workers} for the workers actually used
 *   ({@link ParameterAveraging#defaultBlockMomentum}).</li>
 * </ul>
 *
 * @param batchSize          minibatch size
 * @param workers            workers that train side by side
 * @param averagingFrequency minibatches each worker fits between two averagings
 * @param blockMomentum      momentum of the driver's block update
 * @param images             training images per epoch
 * @param note               why workers or frequency differ from what was asked, or empty
 */
public record WorkerPlan(int batchSize, int workers, int averagingFrequency, double blockMomentum, long images,
                         String note) {
    /** A worker with fewer minibatches per epoch than this makes the automatic choice use fewer workers. */
    public static final int MIN_BATCHES_PER_WORKER = 100;
    /** An automatic batch size gives an epoch at least this many minibatches. */
    public static final int MIN_BATCHES_PER_EPOCH = 16;

    /**
     * Chooses the plan.
     *
     * @param images         training images per epoch
     * @param askedBatch     the minibatch size asked for, or the default
     * @param batchIsSet     whether the user set the batch size (then it is kept)
     * @param askedWorkers   the user's numWorkers, 0 for automatic
     * @param parallelism    the cluster's default parallelism (automatic workers never exceed it)
     * @param frequency      the averaging frequency asked for, or the default
     * @param frequencyIsSet whether the user set the averaging frequency (then it is kept)
     * @param askedMomentum  the user's block momentum, -1 for automatic
     */
    public static WorkerPlan choose(long images, int askedBatch, boolean batchIsSet, int askedWorkers,
                                    int parallelism, int frequency, boolean frequencyIsSet, double askedMomentum) {
        List<String> notes = new ArrayList<>();
        int batchSize = askedBatch;
        if (!batchIsSet && images < (long) MIN_BATCHES_PER_EPOCH * askedBatch) {
            batchSize = (int) Math.max(1, (images + MIN_BATCHES_PER_EPOCH - 1) / MIN_BATCHES_PER_EPOCH);
            notes.add(String.format(Locale.ROOT, "batches of %d rather than %d, so an epoch has at least %d steps",
                    batchSize, askedBatch, MIN_BATCHES_PER_EPOCH));
        }
        long batches = Math.max(1, (images + batchSize - 1) / batchSize);
        int workers;
        if (askedWorkers > 0) {
            workers = (int) Math.min(askedWorkers, batches);
            if (workers < askedWorkers) {
                notes.add(String.format(Locale.ROOT, "numWorkers %d lowered to %d: the data makes only %d "
                        + "minibatch(es)", askedWorkers, workers, batches));
            }
        } else {
            int most = Math.max(1, parallelism);
            workers = (int) Math.max(1, Math.min(most, batches / MIN_BATCHES_PER_WORKER));
            if (workers < most) {
                notes.add(String.format(Locale.ROOT, "%d worker%s rather than %d, so each fits at least %d "
                        + "minibatches per epoch", workers, plural(workers, "s"), most, MIN_BATCHES_PER_WORKER));
            }
        }
        long perWorker = Math.max(1, batches / workers);
        int freq = frequency;
        if (!frequencyIsSet && workers > 1 && perWorker < 4L * frequency) {
            freq = (int) Math.max(1, perWorker / 4);
            notes.add(String.format(Locale.ROOT, "averaging every %d minibatch%s (not %d), so an epoch has at "
                    + "least 4 rounds", freq, plural(freq, "es"), frequency));
        }
        double mu = askedMomentum < 0 ? ParameterAveraging.defaultBlockMomentum(workers) : askedMomentum;
        return new WorkerPlan(batchSize, workers, freq, mu, images, String.join("; ", notes));
    }

    /**
     * The one log line, e.g. "8,000 training images: batch 64, 1 worker, averaging every 5 minibatches, block
     * momentum 0 (1 worker rather than 2, so each fits at least 100 minibatches per epoch)".
     */
    public String describe() {
        String mu = new BigDecimal(blockMomentum).setScale(3, RoundingMode.HALF_EVEN).stripTrailingZeros()
                .toPlainString();
        return String.format(Locale.ROOT, "%,d training images: batch %d, %d worker%s, averaging every %d "
                        + "minibatch%s, block momentum %s%s", images, batchSize, workers, plural(workers, "s"),
                averagingFrequency, plural(averagingFrequency, "es"), mu, note.isEmpty() ? "" : " (" + note + ")");
    }

    private static String plural(long n, String ending) {
        return n == 1 ? "" : ending;
    }
}
