package io.sparkdl.train;

import java.io.Serializable;

/**
 * How a network is trained across a cluster. The classifier hands over a {@link TrainingJob} (network
 * configuration, starting weights, cached data blocks) and gets back weights and history; it never
 * implements a distributed algorithm itself.
 */
public interface TrainingStrategy extends Serializable {
    TrainingResult train(TrainingJob job);

    /** Short name for logs and metrics. */
    String describe();
}
