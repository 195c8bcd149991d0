package io.sparkdl.train;

import java.util.List;

/**
 * Where training stands after {@code epochsDone} complete epochs: everything a run needs to go on exactly
 * as if it had not stopped. The {@link EpochDriver} hands one to each epoch and checkpoints it after.
 *
 * @param iteration    minibatch steps so far (Adam's bias correction and learning rate schedules read it)
 * @param updaterState updater state (Adam moments, momentum velocity), or null for fresh
 * @param velocity     the strategy's own state between epochs (block momentum's velocity), or null
 * @param history      one entry per epoch done
 * @param bestEpoch    under early stopping the epoch with the best validation accuracy so far (0: none yet)
 * @param bestParams   that epoch's weights (null: none)
 */
public record TrainingState(int epochsDone, int iteration, float[] params, float[] updaterState, float[] velocity,
                            List<EpochStats> history, int bestEpoch, float[] bestParams) {

    public TrainingState {
        history = List.copyOf(history);
    }

    public TrainingState(int epochsDone, int iteration, float[] params, float[] updaterState, float[] velocity,
                         List<EpochStats> history) {
        this(epochsDone, iteration, params, updaterState, velocity, history, 0, null);
    }

    /** Before the first epoch: the starting weights and updater state (null: fresh). */
    public static TrainingState start(float[] params, float[] updaterState) {
        return new TrainingState(0, 0, params, updaterState, null, List.of());
    }

    /** The best validation accuracy so far, or -infinity before the first evaluated epoch. */
    double bestAccuracy() {
        return bestEpoch > 0 ? history.get(bestEpoch - 1).validationAccuracy() : Double.NEGATIVE_INFINITY;
    }
}
