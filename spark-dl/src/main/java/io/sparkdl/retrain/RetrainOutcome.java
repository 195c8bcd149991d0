package io.sparkdl.retrain;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@link Retrainer#run()} did.
 *
 * @param changed             false when the lake had no partition newer than the watermark (nothing was written)
 * @param version             the version written (null when unchanged)
 * @param parentVersion       the champion the challenger was warm-started from (null: trained from scratch)
 * @param partitions          the new partitions trained on
 * @param replayedPartitions  the older partitions sampled for replay
 * @param trainingImages      rows the challenger was fitted on
 * @param challengerAccuracy  the challenger's holdout accuracy (NaN when unchanged)
 * @param championAccuracy    the champion's holdout accuracy on the same holdout (NaN: no champion)
 * @param atChanceLevel       the challenger is no better than guessing (never promoted)
 * @param promoted            the challenger became the champion
 * @param decision            why it was or was not promoted, in words
 * @param watermark           the registry's watermark after the run
 * @param champion            the registry's champion after the run (null: none yet)
 * @param versionDir          the version's folder (null when unchanged)
 * @param continuedRun        the run continued a version an interrupted run had begun
 */
public record RetrainOutcome(boolean changed, String version, String parentVersion, List<String> partitions,
                             List<String> replayedPartitions, long trainingImages, double challengerAccuracy,
                             double championAccuracy, boolean atChanceLevel, boolean promoted, String decision,
                             String watermark, String champion, String versionDir, boolean continuedRun) {

    static RetrainOutcome unchanged(String watermark, String champion) {
        return new RetrainOutcome(false, null, null, List.of(), List.of(), 0, Double.NaN, Double.NaN, false, false,
                watermark == null ? "the lake has no partition" : "no lake partition newer than the watermark "
                        + watermark, watermark, champion, null, false);
    }

    /**
     * The outcome as a JSON-ready map: {@code changed}, {@code watermark}, {@code champion}, and for a run that
     * trained also {@code version}, {@code promoted}, {@code holdoutAccuracy}, {@code championHoldoutAccuracy}
     * (null without a champion) and {@code decision}.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("changed", changed);
        if (changed) {
            m.put("version", version);
            m.put("promoted", promoted);
            m.put("holdoutAccuracy", challengerAccuracy);
            m.put("championHoldoutAccuracy", Double.isNaN(championAccuracy) ? null : championAccuracy);
            m.put("decision", decision);
        }
        m.put("watermark", watermark);
        m.put("champion", champion);
        return m;
    }

    /** One line for logs and the console. */
    @Override
    public String toString() {
        if (!changed) {
            return String.format("retrain: %s; the registry is unchanged (champion %s)", decision, champion);
        }
        return String.format(java.util.Locale.ROOT,
                "retrain: version %s on %s: holdout accuracy %.4f (champion %s) -> %s; watermark %s", version,
                partitions, challengerAccuracy, Double.isNaN(championAccuracy) ? "none"
                        : String.format(java.util.Locale.ROOT, "%.4f", championAccuracy),
                promoted ? "promoted to champion" : "kept as a candidate, champion stays " + champion + " (" + decision
                        + ")", watermark);
    }
}
