package io.sparkdl.pipelines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.sparkdl.nn.NetworkSpec;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A ready pipeline definition ({@code pipelines/*.json}): source, preprocessing, estimator and params,
 * evaluation and outputs, turned into the command-line steps it stands for ({@code train}, then
 * {@code evaluate} when an evaluation set is named). Options given after the file override fields:
 * {@code spark-dl run pipelines/fashion-lenet.json --epochs 1 --master spark://...} (each override goes to
 * every step that accepts it). A bad definition fails with one line naming the file and the field. Relative
 * paths in the file are relative to the file's folder (so a definition runs the same from any directory);
 * paths given on the command line are relative to the current directory, as always.
 */
final class PipelineDefinition {
    /** JSON field -> option of the train step; value kind: s string, n number, i integer. */
    private static final Map<String, String[]> TRAIN = new LinkedHashMap<>();
    private static final Map<String, String[]> EVALUATE = new LinkedHashMap<>();
    /** The clustering job (estimator.type ImageKMeans), run as the cluster command. */
    private static final Map<String, String[]> CLUSTER = new LinkedHashMap<>();
    static final Set<String> CLUSTER_OPTIONS = Set.of("data", "k", "pca", "features", "seed", "master",
            "metrics-json", "report-dir", "image-size", "channels", "out", "max-iter", "format", "model");
    /** Options whose values are paths. */
    private static final Set<String> PATHS = Set.of("data", "model", "metrics-json", "report-dir", "initial-model",
            "out", "arch", "features");
    /** Switches an override may add to every step. */
    private static final Set<String> FLAGS = Set.of("fail-on-bad-files", "overwrite");
    private static final Set<String> TOP = Set.of("name", "description", "source", "preprocessing", "estimator",
            "evaluation", "outputs", "spark");

    static {
        TRAIN.put("source.data", new String[]{"data", "s"});
        TRAIN.put("preprocessing.imageSize", new String[]{"image-size", "s"});
        TRAIN.put("preprocessing.channels", new String[]{"channels", "i"});
        TRAIN.put("estimator.type", new String[]{null, "s"});
        TRAIN.put("estimator.arch", new String[]{"arch", "s"});
        TRAIN.put("estimator.epochs", new String[]{"epochs", "i"});
        TRAIN.put("estimator.batchSize", new String[]{"batch-size", "i"});
        TRAIN.put("estimator.updater", new String[]{"updater", "s"});
        TRAIN.put("estimator.engine", new String[]{"engine", "s"});
        TRAIN.put("estimator.learningRate", new String[]{"learning-rate", "n"});
        TRAIN.put("estimator.workers", new String[]{"workers", "i"});
        TRAIN.put("estimator.averagingFrequency", new String[]{"averaging-frequency", "i"});
        TRAIN.put("estimator.blockMomentum", new String[]{"block-momentum", "n"});
        TRAIN.put("estimator.validationFraction", new String[]{"validation-fraction", "n"});
        TRAIN.put("estimator.seed", new String[]{"seed", "i"});
        TRAIN.put("preprocessing.normalize", new String[]{"normalize", "b"});
        TRAIN.put("preprocessing.augment", new String[]{"augment", "s"});
        TRAIN.put("estimator.lrSchedule", new String[]{"lr-schedule", "s"});
        TRAIN.put("estimator.momentum", new String[]{"momentum", "n"});
        TRAIN.put("estimator.weightDecay", new String[]{"weight-decay", "n"});
        TRAIN.put("estimator.earlyStopping", new String[]{"early-stopping", "i"});
        TRAIN.put("estimator.initialModel", new String[]{"initial-model", "s"});
        TRAIN.put("estimator.freezeLayers", new String[]{"freeze-layers", "i"});
        TRAIN.put("outputs.model", new String[]{"model", "s"});
        TRAIN.put("outputs.metricsJson", new String[]{"metrics-json", "s"});
        TRAIN.put("outputs.reportDir", new String[]{"report-dir", "s"});
        TRAIN.put("spark.master", new String[]{"master", "s"});
        EVALUATE.put("evaluation.data", new String[]{"data", "s"});
        CLUSTER.put("source.data", new String[]{"data", "s"});
        CLUSTER.put("preprocessing.imageSize", new String[]{"image-size", "s"});
        CLUSTER.put("preprocessing.channels", new String[]{"channels", "i"});
        CLUSTER.put("preprocessing.features", new String[]{"features", "s"});
        CLUSTER.put("preprocessing.pca", new String[]{"pca", "i"});
        CLUSTER.put("estimator.type", new String[]{null, "s"});
        CLUSTER.put("estimator.k", new String[]{"k", "i"});
        CLUSTER.put("estimator.maxIter", new String[]{"max-iter", "i"});
        CLUSTER.put("estimator.seed", new String[]{"seed", "i"});
        CLUSTER.put("outputs.assignments", new String[]{"out", "s"});
        CLUSTER.put("outputs.format", new String[]{"format", "s"});
        CLUSTER.put("outputs.model", new String[]{"model", "s"});
        CLUSTER.put("outputs.metricsJson", new String[]{"metrics-json", "s"});
        CLUSTER.put("outputs.reportDir", new String[]{"report-dir", "s"});
        CLUSTER.put("spark.master", new String[]{"master", "s"});
        EVALUATE.put("evaluation.metricsJson", new String[]{"metrics-json", "s"});
        EVALUATE.put("evaluation.reportDir", new String[]{"report-dir", "s"});
    }

    private PipelineDefinition() {
    }

    /** The steps of a definition file with the overrides applied: each an argument vector for SparkDl.run. */
    static List<String[]> steps(String file, String[] overrides, Set<String> trainOptions, Set<String> evalOptions)
            throws IOException {
        File f = new File(file);
        if (!f.isFile()) {
            throw new CliArgs.UsageException("pipeline definition " + file + " does not exist");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(f.toPath(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new CliArgs.UsageException(file + ": not valid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CliArgs.UsageException(file + ": must be a JSON object");
        }
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        flatten(file, "", root, fields);
        JsonNode type = fields.get("estimator.type");
        String kind = type == null ? "CnnClassifier" : type.asText();
        if (!kind.equals("CnnClassifier") && !kind.equals("ImageKMeans")) {
            throw new CliArgs.UsageException(file + ": estimator.type must be CnnClassifier or ImageKMeans but was "
                    + kind);
        }
        boolean clustering = kind.equals("ImageKMeans");
        for (String k : fields.keySet()) {
            String top = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
            boolean known = clustering ? CLUSTER.containsKey(k) : TRAIN.containsKey(k) || EVALUATE.containsKey(k);
            if (!TOP.contains(top) || (!k.equals("name") && !k.equals("description") && !known)) {
                List<String> names = new ArrayList<>(clustering ? CLUSTER.keySet() : TRAIN.keySet());
                if (!clustering) {
                    names.addAll(EVALUATE.keySet());
                }
                throw new CliArgs.UsageException(file + ": unknown field " + k + " for estimator.type " + kind
                        + " (known: name, description, " + String.join(", ", names) + ")");
            }
        }
        if (clustering) {
            if (!fields.containsKey("source.data")) {
                throw new CliArgs.UsageException(file + ": missing field source.data");
            }
            CliArgs over = new CliArgs(overrides, 0, CLUSTER_OPTIONS, FLAGS);
            List<String[]> steps = new ArrayList<>();
            steps.add(argv("cluster", options(file, fields, CLUSTER), over, union(CLUSTER_OPTIONS, FLAGS)));
            return steps;
        }
        CliArgs over = new CliArgs(overrides, 0, union(trainOptions, evalOptions), union(FLAGS, Set.of("normalize")));

        Map<String, String> train = options(file, fields, TRAIN);
        for (String required : List.of("source.data", "outputs.model")) {
            if (!fields.containsKey(required)) {
                throw new CliArgs.UsageException(file + ": missing field " + required);
            }
        }
        List<String[]> steps = new ArrayList<>();
        steps.add(argv("train", train, over, union(trainOptions, union(FLAGS, Set.of("normalize")))));
        Map<String, String> eval = options(file, fields, EVALUATE);
        if (!eval.isEmpty()) {
            if (!eval.containsKey("data")) {
                throw new CliArgs.UsageException(file + ": the evaluation section needs evaluation.data");
            }
            eval.put("model", over.get("model", train.get("model")));
            if (train.containsKey("master")) {
                eval.put("master", train.get("master"));
            }
            // --data overrides the training source, not the evaluation set
            steps.add(argv("evaluate", eval, over, union(FLAGS, Set.of("master"))));
        }
        return steps;
    }

    private static String[] argv(String command, Map<String, String> base, CliArgs over, Set<String> accepted) {
        Map<String, String> m = new LinkedHashMap<>(base);
        for (String k : accepted) {
            if (over.has(k)) {
                m.put(k, over.get(k, null));
            }
        }
        List<String> out = new ArrayList<>(List.of(command));
        m.forEach((k, v) -> {
            if (FLAGS.contains(k)) {
                out.add("--" + k);
            } else if (k.equals("normalize")) {
                if (!v.equals("false")) {
                    out.add("--" + k);
                }
            } else {
                out.add("--" + k);
                out.add(v);
            }
        });
        return out.toArray(new String[0]);
    }

    private static Map<String, String> options(String file, Map<String, JsonNode> fields, Map<String, String[]> map) {
        Map<String, String> out = new LinkedHashMap<>();
        map.forEach((field, spec) -> {
            JsonNode v = fields.get(field);
            if (v == null || spec[0] == null) {
                return;
            }
            switch (spec[1]) {
                case "i" -> {
                    if (!v.isIntegralNumber()) {
                        throw new CliArgs.UsageException(file + ": " + field + " must be an integer but was " + v);
                    }
                }
                case "b" -> {
                    if (!v.isBoolean()) {
                        throw new CliArgs.UsageException(file + ": " + field + " must be true or false but was " + v);
                    }
                }
                case "n" -> {
                    if (!v.isNumber()) {
                        throw new CliArgs.UsageException(file + ": " + field + " must be a number but was " + v);
                    }
                }
                default -> {
                    if (!v.isTextual() || v.asText().isBlank()) {
                        throw new CliArgs.UsageException(file + ": " + field + " must be a non-empty string but was "
                                + v);
                    }
                }
            }
            out.put(spec[0], PATHS.contains(spec[0]) ? relativeTo(file, spec[0], v.asText()) : v.asText());
        });
        return out;
    }

    /** A path field of the definition, resolved against the definition file's folder. */
    private static String relativeTo(String file, String option, String value) {
        if (option.equals("features")) {
            return value.startsWith("cnn:") ? "cnn:" + relativeTo(file, "model", value.substring(4)) : value;
        }
        if (option.equals("arch") && (NetworkSpec.builtIns().contains(value.toLowerCase(java.util.Locale.ROOT))
                || value.trim().startsWith("{"))) {
            return value;
        }
        if (value.contains("://") || new File(value).isAbsolute()) {
            return value;
        }
        File dir = new File(file).getAbsoluteFile().getParentFile();
        return dir.toPath().resolve(value).normalize().toString();
    }

    private static void flatten(String file, String prefix, JsonNode node, Map<String, JsonNode> out) {
        // properties(), not fields(): jackson 2.21 (the Spark 4.2 line) deprecates fields(); both lines have it
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().isObject()) {
                flatten(file, key, e.getValue(), out);
            } else if (e.getValue().isNull()) {
                continue;
            } else if (e.getValue().isArray()) {
                throw new CliArgs.UsageException(file + ": " + key + " must not be a list");
            } else {
                out.put(key, e.getValue());
            }
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }
}
