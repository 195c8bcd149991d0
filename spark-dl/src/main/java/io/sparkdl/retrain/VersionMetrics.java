package io.sparkdl.retrain;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.List;
import java.util.Map;

/**
 * The {@code metrics.json} of a registry version, written by {@link Retrainer} (Jackson from this record) and
 * readable back with {@link #parse}.
 *
 * @param championHoldoutAccuracy null when there was no champion
 * @param parentVersion           null when trained from scratch
 * @param holdout                 the challenger's holdout metrics ({@link io.sparkdl.eval.ClassificationMetrics#toMap})
 * @param params                  the run's settings: the policy and the template's training params
 */
@JsonPropertyOrder({"version", "holdoutAccuracy", "championHoldoutAccuracy", "promoted", "decision", "atChanceLevel",
        "minImprovement", "parentVersion", "template", "partitions", "replayedPartitions", "trainingImages", "labels",
        "params", "holdout", "started", "finished", "projectVersion", "history"})
public record VersionMetrics(String version, double holdoutAccuracy, Double championHoldoutAccuracy, boolean promoted,
                             String decision, boolean atChanceLevel, double minImprovement, String parentVersion,
                             String template, List<String> partitions, List<String> replayedPartitions,
                             long trainingImages, List<String> labels, Map<String, Object> params,
                             Map<String, Object> holdout, String started, String finished, String projectVersion,
                             List<Epoch> history) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One epoch of the challenger's training. */
    public record Epoch(int epoch, double loss, double trainAccuracy, Double validationAccuracy) {
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the metrics of version " + version, e);
        }
    }

    /** A version's metrics.json read back. */
    public static VersionMetrics parse(String json) {
        try {
            return JSON.readValue(json, VersionMetrics.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not a version's metrics.json: " + e.getOriginalMessage(), e);
        }
    }
}
