package io.sparkdl.pipelines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.nn.NetworkSpec;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

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

    /** Train options that are CnnClassifier params, as a retrain template sets them. */
    private static final Map<String, BiConsumer<CnnClassifier, String>> CLASSIFIER = Map.ofEntries(
            Map.entry("epochs", (c, v) -> c.setEpochs(Integer.parseInt(v))),
            Map.entry("batch-size", (c, v) -> c.setBatchSize(Integer.parseInt(v))),
            Map.entry("updater", CnnClassifier::setUpdater),
            Map.entry("engine", CnnClassifier::setEngine),
            Map.entry("learning-rate", (c, v) -> c.setLearningRate(Double.parseDouble(v))),
            Map.entry("workers", (c, v) -> c.setNumWorkers(Integer.parseInt(v))),
            Map.entry("averaging-frequency", (c, v) -> c.setAveragingFrequency(Integer.parseInt(v))),
            Map.entry("block-momentum", (c, v) -> c.setBlockMomentum(Double.parseDouble(v))),
            Map.entry("validation-fraction", (c, v) -> c.setValidationFraction(Double.parseDouble(v))),
            Map.entry("seed", (c, v) -> c.setSeed(Long.parseLong(v))),
            Map.entry("lr-schedule", CnnClassifier::setLrSchedule),
            Map.entry("momentum", (c, v) -> c.setMomentum(Double.parseDouble(v))),
            Map.entry("weight-decay", (c, v) -> c.setWeightDecay(Double.parseDouble(v))),
            Map.entry("early-stopping", (c, v) -> c.setEarlyStoppingPatience(Integer.parseInt(v))),
            Map.entry("augment", CnnClassifier::setAugmentation));

    private PipelineDefinition() {
    }

    /** The steps of a definition file with the overrides applied: each an argument vector for SparkDl.run. */
    static List<String[]> steps(String file, String[] overrides, Set<String> trainOptions, Set<String> evalOptions)
            throws IOException {
        Map<String, JsonNode> fields = read(file);
        boolean clustering = kind(file, fields).equals("ImageKMeans");
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

    /** The definition's fields, flattened ({@code estimator.epochs}); a bad file fails naming the file. */
    private static Map<String, JsonNode> read(String file) throws IOException {
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
        return fields;
    }

    /** The estimator.type (CnnClassifier or ImageKMeans), after every field was checked to be known for it. */
    private static String kind(String file, Map<String, JsonNode> fields) {
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
        return kind;
    }

    /**
     * The training half of a definition as a template for {@code retrain}: a Pipeline of an ImageDecoder
     * (preprocessing.imageSize and channels, else the architecture's input), an ImageNormalizer when
     * preprocessing.normalize is true, and a CnnClassifier with the estimator's params (preprocessing.augment
     * becomes its augmentation). The source, outputs, evaluation and spark sections are not used (retrain
     * reads its lake and writes its registry), nor is a warm start (retrain starts from its champion).
     */
    static Pipeline template(String file) throws IOException {
        Map<String, JsonNode> fields = read(file);
        if (!kind(file, fields).equals("CnnClassifier")) {
            throw new CliArgs.UsageException(file + ": retrain needs estimator.type CnnClassifier");
        }
        for (String f : List.of("estimator.initialModel", "estimator.freezeLayers")) {
            if (fields.containsKey(f)) {
                throw new CliArgs.UsageException(file + ": " + f + " is not for retrain, which warm-starts from its "
                        + "champion (use --frozen-layers)");
            }
        }
        Map<String, String> o = options(file, fields, TRAIN);
        String arch = o.getOrDefault("arch", "lenet");
        if (!NetworkSpec.builtIns().contains(arch.toLowerCase(java.util.Locale.ROOT)) && !arch.trim().startsWith("{")) {
            File a = new File(arch);
            if (!a.isFile()) {
                throw new CliArgs.UsageException(file + ": estimator.arch must be one of " + NetworkSpec.builtIns()
                        + " or a JSON file, but " + arch + " is neither");
            }
            arch = Files.readString(a.toPath(), StandardCharsets.UTF_8);
        }
        int[] dflt = NetworkSpec.parse(arch).defaultInput();
        int[] size = o.containsKey("image-size") ? size(file, o.get("image-size"))
                : dflt != null ? new int[]{dflt[0], dflt[1]} : new int[]{0, 0};
        int channels = o.containsKey("channels") ? Integer.parseInt(o.get("channels")) : dflt != null ? dflt[2] : 0;
        CnnClassifier cnn = new CnnClassifier().setArch(arch).setImageHeight(size[0]).setImageWidth(size[1])
                .setImageChannels(channels);
        ImageDecoder decoder = new ImageDecoder().setSize(size[0], size[1]).setChannels(channels)
                .setHandleInvalid("skip");
        for (Map.Entry<String, String> e : o.entrySet()) {
            BiConsumer<CnnClassifier, String> setter = CLASSIFIER.get(e.getKey());
            if (setter == null) {
                continue;
            }
            try {
                setter.accept(cnn, e.getValue());
            } catch (IllegalArgumentException bad) {
                throw new CliArgs.UsageException(file + ": " + field(e.getKey()) + " = " + e.getValue()
                        + " is not valid: " + bad.getMessage());
            }
        }
        List<PipelineStage> stages = new ArrayList<>(List.of(decoder));
        if ("true".equals(o.get("normalize"))) {
            stages.add(new ImageNormalizer().setChannels(channels));
        }
        stages.add(cnn);
        return new Pipeline().setStages(stages.toArray(new PipelineStage[0]));
    }

    /** The definition field behind a train option. */
    private static String field(String option) {
        return TRAIN.entrySet().stream().filter(e -> option.equals(e.getValue()[0])).map(Map.Entry::getKey)
                .findFirst().orElse(option);
    }

    private static int[] size(String file, String value) {
        String[] p = value.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (p.length == 2) {
                int h = Integer.parseInt(p[0].trim());
                int w = Integer.parseInt(p[1].trim());
                if (h > 0 && w > 0 && h <= NetworkSpec.MAX_SIDE && w <= NetworkSpec.MAX_SIDE) {
                    return new int[]{h, w};
                }
            }
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new CliArgs.UsageException(file + ": preprocessing.imageSize must look like 28x28, each side between 1 "
                + "and " + NetworkSpec.MAX_SIDE + ", but was '" + value + "'");
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
