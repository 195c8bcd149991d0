package io.sparkdl.train;

import java.io.Serializable;

/**
 * How a network is trained across a cluster, one epoch at a time: the distributed algorithm only. The
 * {@link EpochDriver} calls it for each epoch and owns everything around it (evaluation, history, early
 * stopping, checkpoints, listeners), as dl4j-spark's {@code TrainingMaster} keeps its algorithm apart from
 * the network wrapper.
 */
public interface TrainingStrategy extends Serializable {
    /**
     * Trains epoch {@code state.epochsDone() + 1} from {@code state} (weights, updater state, velocity,
     * iteration count) on {@code run}'s training blocks. Runs on the driver and submits the Spark jobs.
     */
    EpochResult runEpoch(TrainingRun run, TrainingState state);

    /** Short name for logs and metrics. */
    String describe();
}
