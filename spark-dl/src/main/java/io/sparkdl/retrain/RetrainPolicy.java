package io.sparkdl.retrain;

/**
 * The champion/challenger rules of a {@link Retrainer}, immutable: each {@code withX} returns a copy.
 *
 * @param minImprovement how much higher the challenger's holdout accuracy must be than the champion's for it to
 *                       be promoted (default 0.001); a challenger at chance level is never promoted
 * @param replayFraction the share of the older partitions (those at or before the watermark) trained on again with
 *                       the new ones, in [0, 1] (default 0.2); sampled with {@code seed}
 * @param frozenLayers   on a warm start, keep the champion's first N layers fixed (default 0)
 * @param seed           seed of the replay sample (default 42)
 */
public record RetrainPolicy(double minImprovement, double replayFraction, int frozenLayers, long seed) {

    public RetrainPolicy {
        if (!Double.isFinite(minImprovement)) {
            throw new IllegalArgumentException("minImprovement must be a finite number but was " + minImprovement);
        }
        if (!(replayFraction >= 0 && replayFraction <= 1)) {
            throw new IllegalArgumentException("replayFraction must be in [0, 1] but was " + replayFraction);
        }
        if (frozenLayers < 0) {
            throw new IllegalArgumentException("frozenLayers must be >= 0 but was " + frozenLayers);
        }
    }

    /** minImprovement 0.001, replayFraction 0.2, no frozen layers, seed 42. */
    public static RetrainPolicy defaults() {
        return new RetrainPolicy(0.001, 0.2, 0, 42);
    }

    public RetrainPolicy withMinImprovement(double v) {
        return new RetrainPolicy(v, replayFraction, frozenLayers, seed);
    }

    public RetrainPolicy withReplayFraction(double v) {
        return new RetrainPolicy(minImprovement, v, frozenLayers, seed);
    }

    public RetrainPolicy withFrozenLayers(int v) {
        return new RetrainPolicy(minImprovement, replayFraction, v, seed);
    }

    public RetrainPolicy withSeed(long v) {
        return new RetrainPolicy(minImprovement, replayFraction, frozenLayers, v);
    }
}
