package io.sparkdl.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Runs the epochs of a fit: each epoch the {@link TrainingStrategy} trains (for {@link ParameterAveraging},
 * rounds of averaging), then the driver measures train and validation accuracy with the new weights, records
 * the {@link EpochStats}, tells the listeners, keeps the best weights under early stopping, writes a
 * checkpoint, and decides whether to go on. The strategy never sees any of that, and the classifier never
 * sees a round: the same loop serves every strategy and both engines.
 */
public final class EpochDriver {
    private static final Logger LOG = LoggerFactory.getLogger(EpochDriver.class);

    private final TrainingStrategy strategy;
    private final TrainingConfig config;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private CheckpointStore checkpoints;
    private String checkpointDir;

    public EpochDriver(TrainingStrategy strategy, TrainingConfig config) {
        this.strategy = Objects.requireNonNull(strategy, "strategy");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** Called after each epoch, in the order added. */
    public EpochDriver addListener(TrainingListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Checkpoints after every epoch into {@code store} (whose folder {@code dir} the log lines name), and
     * resumes from its newest checkpoint, when it has one with its fingerprint, instead of the start state.
     */
    public EpochDriver checkpointTo(CheckpointStore store, String dir) {
        this.checkpoints = store;
        this.checkpointDir = dir;
        return this;
    }

    /**
     * Trains from {@code start} (or the checkpoint, see {@link #checkpointTo}) until {@code config.epochs()}
     * epochs are done or early stopping ends it.
     *
     * @return the last epoch's weights, or under early stopping the best epoch's; the last updater state
     */
    public TrainingResult train(TrainingData data, TrainingState start) {
        int patience = config.earlyStoppingPatience();
        if (patience > 0 && data.validation() == null) {
            throw new IllegalArgumentException("early stopping (patience " + patience
                    + ") needs a validation set: set validationFraction or validationIndicatorCol");
        }
        TrainingState state = resumeOr(start);
        try (TrainingRun run = new TrainingRun(data, config)) {
            List<Integer> sizes = run.partitionSizes();
            int largest = sizes.stream().mapToInt(Integer::intValue).max().orElse(0);
            if (largest == 0) {
                throw new IllegalArgumentException("No training images to fit");
            }
            LOG.info("Training on {} workers ({} images, largest partition {}), {} epochs of minibatches of {}: {}",
                    sizes.size(), sizes.stream().mapToLong(Integer::longValue).sum(), largest, config.epochs(),
                    config.batchSize(), strategy.describe());
            while (state.epochsDone() < config.epochs() && !patienceRunOut(state)) {
                state = epoch(run, state);
            }
        }
        return result(state);
    }

    private TrainingState resumeOr(TrainingState start) {
        TrainingState saved = checkpoints == null ? null : checkpoints.load();
        if (saved == null) {
            return start;
        }
        LOG.info("spark-dl train: resuming from the checkpoint after epoch {} of {} (iteration {}) in {}",
                saved.epochsDone(), config.epochs(), saved.iteration(), checkpointDir);
        return saved;
    }

    private TrainingState epoch(TrainingRun run, TrainingState state) {
        int epoch = state.epochsDone() + 1;
        long t0 = System.nanoTime();
        EpochResult r = strategy.runEpoch(run, state);
        double seconds = (System.nanoTime() - t0) / 1e9;
        run.describeJobs(epoch, "evaluation");
        double trainAccuracy = Evaluation.accuracy(run, run.data().train(), run.partitionSizes(), r.params(),
                config.trainAccuracySample());
        double validationAccuracy = run.data().validation() == null ? Double.NaN
                : Evaluation.accuracy(run, run.data().validation(), null, r.params(), Integer.MAX_VALUE);
        EpochStats stats = new EpochStats(epoch, r.loss(), trainAccuracy, validationAccuracy, r.examples() / seconds,
                seconds);
        List<EpochStats> history = new ArrayList<>(state.history());
        history.add(stats);
        for (TrainingListener l : listeners) {
            l.onEpochEnd(stats);
        }
        int bestEpoch = state.bestEpoch();
        float[] bestParams = state.bestParams();
        if (config.earlyStoppingPatience() > 0 && (bestEpoch == 0 || validationAccuracy > state.bestAccuracy())) {
            bestEpoch = epoch;
            bestParams = r.params().clone();
        }
        TrainingState next = new TrainingState(epoch, r.iteration(), r.params(), r.updaterState(), r.velocity(),
                history, bestEpoch, bestParams);
        if (checkpoints != null) {
            checkpoints.save(next);
            LOG.info("spark-dl train: checkpoint after epoch {} written to {}", epoch, checkpointDir);
        }
        return next;
    }

    /** Early stopping: {@code patience} epochs since the best one (checked before an epoch, so a resumed run too). */
    private boolean patienceRunOut(TrainingState state) {
        int patience = config.earlyStoppingPatience();
        if (patience == 0 || state.bestEpoch() == 0 || state.epochsDone() - state.bestEpoch() < patience) {
            return false;
        }
        LOG.info("Early stopping after epoch {}: validation accuracy has not improved for {} epochs since "
                + "epoch {} ({})", state.epochsDone(), patience, state.bestEpoch(),
                String.format("%.4f", state.bestAccuracy()));
        return true;
    }

    private TrainingResult result(TrainingState state) {
        List<EpochStats> history = state.history();
        if (config.earlyStoppingPatience() > 0 && state.bestParams() != null) {
            if (state.bestEpoch() < history.size()) {
                LOG.info("Keeping the weights of epoch {} (best validation accuracy {}) instead of epoch {}",
                        state.bestEpoch(), String.format("%.4f", state.bestAccuracy()), history.size());
            }
            return new TrainingResult(state.bestParams(), state.updaterState(), history, state.bestEpoch());
        }
        return new TrainingResult(state.params(), state.updaterState(), history);
    }
}
