package io.sparkdl.pipelines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.nn.NetworkSpec;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A ready pipeline definition ({@code pipelines/*.json}), turned into the commands it stands for: {@code train}
 * (then {@code evaluate} when an evaluation set is named), or {@code cluster}. The estimator's fields (and the
 * {@code ensemble} section's) are the stage's param names, set through the same {@link ParamOptions} mapping as
 * the command line's options, so the stage's validators judge them and the file can set every param the
 * command exposes. Options given after the file override its fields: {@code spark-dl run
 * pipelines/fashion-lenet.json --epochs 1 --master spark://...} (they go to the train or cluster step; the
 * evaluate step takes the model and master from it). A bad definition fails with one line naming the file and
 * the field. Relative paths in the file are relative to the file's folder (so a definition runs the same from
 * any directory); paths given on the command line are relative to the current directory, as always.
 *
 * <pre>
 * {"name", "description",
 *  "source":        {"data"},
 *  "preprocessing": {"imageSize": "HxW", "channels", "normalize": true|false, "features", "pca"},
 *  "estimator":     {"type": "CnnClassifier"|"ImageKMeans", PARAM: VALUE, ...},
 *  "ensemble":      {"numMembers", "combination"},                        (CnnClassifier only)
 *  "evaluation":    {"data", "metricsJson", "reportDir"},                 (CnnClassifier only)
 *  "outputs":       {"model", "metricsJson", "reportDir", "assignments", "format"},
 *  "spark":         {"master"}}
 * </pre>
 */
final class PipelineDefinition {
    private static final Set<String> SECTIONS = Set.of("name", "description", "source", "preprocessing",
            "estimator", "ensemble", "evaluation", "outputs", "spark");
    /** Fields renamed to their param's name (issue 16); an old file gets the new name in its error. */
    private static final Map<String, String> RENAMED = Map.of("preprocessing.augment", "estimator.augmentation",
            "estimator.earlyStopping", "estimator.earlyStoppingPatience",
            "estimator.freezeLayers", "estimator.frozenLayers", "estimator.workers", "estimator.numWorkers",
            "estimator.combine", "ensemble.combination");
    /** Params whose values are paths, resolved against the file's folder. */
    private static final Set<String> PATH_PARAMS = Set.of("initialModel", "checkpointDir");

    private final String file;
    private final Map<String, JsonNode> sections = new LinkedHashMap<>();

    private PipelineDefinition(String file, JsonNode root) {
        this.file = file;
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!SECTIONS.contains(e.getKey())) {
                throw usage("unknown section " + e.getKey() + " (known: " + String.join(", ", SECTIONS) + ")");
            }
            if (!e.getValue().isNull()) {
                sections.put(e.getKey(), e.getValue());
            }
        }
        for (String s : List.of("source", "preprocessing", "estimator", "ensemble", "evaluation", "outputs",
                "spark")) {
            if (sections.containsKey(s) && !sections.get(s).isObject()) {
                throw usage(s + " must be a JSON object but was " + sections.get(s));
            }
        }
    }

    /** The commands of a definition file, the overrides parsed into them; run them in order. */
    static List<Job> jobs(String file, List<String> overrides) throws IOException {
        PipelineDefinition d = read(file);
        JsonNode type = d.field("estimator", "type");
        String kind = type == null ? "CnnClassifier" : type.asText();
        return switch (kind) {
            case "CnnClassifier" -> d.train(overrides);
            case "ImageKMeans" -> List.of(d.cluster(overrides));
            default -> throw d.usage("estimator.type must be CnnClassifier or ImageKMeans but was " + kind);
        };
    }

    /**
     * The training half of a definition as a template for {@code retrain}: a Pipeline of an ImageDecoder
     * (preprocessing.imageSize and channels, else the architecture's input), an ImageNormalizer when
     * preprocessing.normalize is true, and the CnnClassifier with the estimator's params, set as for train. The
     * source, outputs, evaluation and spark sections are not used (retrain reads its lake and writes its
     * registry), nor is a warm start (retrain starts from its champion).
     */
    static Pipeline template(String file) throws IOException {
        PipelineDefinition d = read(file);
        JsonNode type = d.field("estimator", "type");
        if (type != null && !type.asText().equals("CnnClassifier")) {
            throw d.usage("retrain needs estimator.type CnnClassifier");
        }
        for (String f : List.of("initialModel", "frozenLayers")) {
            if (d.field("estimator", f) != null) {
                throw d.usage("estimator." + f + " is not for retrain, which warm-starts from its champion "
                        + "(use --frozen-layers)");
            }
        }
        d.checkFields("preprocessing", Set.of("imageSize", "channels", "normalize"));
        TrainCommand t = SparkDl.parse(new TrainCommand(), List.of());
        d.setParams("estimator", t.cnn, t.params, Set.of("type"), t);
        d.preprocessing(t);
        t.configure();
        int[] shape = t.inputShape(NetworkSpec.parse(t.cnn.getArch()));
        if (shape[0] > 0) {
            t.cnn.setHeight(shape[0]).setWidth(shape[1]);
        }
        if (shape[2] > 0) {
            t.cnn.setChannels(shape[2]);
        }
        ImageDecoder decoder = new ImageDecoder().setSize(shape[0], shape[1]).setChannels(shape[2])
                .setHandleInvalid("skip");
        List<PipelineStage> stages = new ArrayList<>(List.of(decoder));
        if (t.normalize) {
            stages.add(new ImageNormalizer().setChannels(shape[2]));
        }
        stages.add(t.cnn);
        return new Pipeline().setStages(stages.toArray(new PipelineStage[0]));
    }

    static PipelineDefinition read(String file) throws IOException {
        File f = new File(file);
        if (!f.isFile()) {
            throw new UsageException("pipeline definition " + file + " does not exist");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(f.toPath(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new UsageException(file + ": not valid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new UsageException(file + ": must be a JSON object");
        }
        return new PipelineDefinition(file, root);
    }

    private List<Job> train(List<String> overrides) {
        checkFields("source", Set.of("data"));
        checkFields("preprocessing", Set.of("imageSize", "channels", "normalize"));
        checkFields("outputs", Set.of("model", "metricsJson", "reportDir"));
        checkFields("evaluation", Set.of("data", "metricsJson", "reportDir"));
        checkFields("spark", Set.of("master"));
        TrainCommand t = SparkDl.parse(new TrainCommand(), overrides);
        setParams("estimator", t.cnn, t.params, Set.of("type"), t);
        require("source", "data");
        require("outputs", "model");
        t.data = t.data != null ? t.data : path(string("source", "data"));
        t.model = t.model != null ? t.model : path(string("outputs", "model"));
        if (t.metricsJson.value == null) {
            t.metricsJson.value = path(string("outputs", "metricsJson"));
        }
        t.reportDir.value = t.reportDir.value != null ? t.reportDir.value : path(string("outputs", "reportDir"));
        t.master.value = t.master.value != null ? t.master.value : string("spark", "master");
        preprocessing(t);
        if (sections.containsKey("ensemble")) {
            setParams("ensemble", t.ensemble, t.params, Set.of(), null);
            t.ensembleFromDefinition = true;
        }
        List<Job> jobs = new ArrayList<>(List.of(t));
        if (sections.containsKey("evaluation")) {
            require("evaluation", "data");
            EvaluateCommand e = new EvaluateCommand();
            e.data = path(string("evaluation", "data"));
            e.metricsJson.value = path(string("evaluation", "metricsJson"));
            e.reportDir.value = path(string("evaluation", "reportDir"));
            e.model = t.model;
            e.master.value = t.master.value;
            e.overwrite.value = t.overwrite.value;
            e.failOnBadFiles.value = t.failOnBadFiles.value;
            jobs.add(e);
        }
        return jobs;
    }

    /** preprocessing.imageSize, normalize and channels (the classifier's param) of a train command. */
    private void preprocessing(TrainCommand t) {
        String size = string("preprocessing", "imageSize");
        if (t.imageSize == null && size != null) {
            // preprocessing.imageSize sets the classifier's height and width: not together with either, from
            // the command line or from the estimator section (the command line's --image-size overrides all)
            for (String side : List.of("height", "width")) {
                if (t.params.given("--" + side)) {
                    throw usage("preprocessing.imageSize " + size + " and --" + side + " " + t.params.givenText("--"
                            + side) + " both set " + side + ": give one (override it with --image-size HxW)");
                }
                if (field("estimator", side) != null) {
                    throw usage("preprocessing.imageSize " + size + " and estimator." + side + " "
                            + field("estimator", side) + " both set " + side + ": give one");
                }
            }
            t.imageSize = size;
        }
        JsonNode normalize = field("preprocessing", "normalize");
        if (normalize != null) {
            if (!normalize.isBoolean()) {
                throw usage("preprocessing.normalize must be true or false but was " + normalize);
            }
            t.normalize |= normalize.booleanValue();
        }
        JsonNode channels = field("preprocessing", "channels");
        if (channels != null) {
            ParamOptions.setFromJson(t.cnn, t.cnn.channels().name(), channels, file + ": preprocessing.channels");
        }
    }

    private Job cluster(List<String> overrides) {
        checkFields("source", Set.of("data"));
        checkFields("preprocessing", Set.of("imageSize", "channels", "features", "pca"));
        checkFields("outputs", Set.of("assignments", "format", "model", "metricsJson", "reportDir"));
        checkFields("spark", Set.of("master"));
        for (String s : List.of("ensemble", "evaluation")) {
            if (sections.containsKey(s)) {
                throw usage(s + " is not used by estimator.type ImageKMeans");
            }
        }
        ClusterCommand c = SparkDl.parse(new ClusterCommand(), overrides);
        setParams("estimator", c.kmeans, c.params, Set.of("type"), null);
        require("source", "data");
        c.data = c.data != null ? c.data : path(string("source", "data"));
        c.imageSize = c.imageSize != null ? c.imageSize : string("preprocessing", "imageSize");
        if (c.features.equals("pixels") && !overrides.contains("--features")) {
            String f = string("preprocessing", "features");
            c.features = f == null ? "pixels" : f.startsWith("cnn:") ? "cnn:" + path(f.substring(4)) : f;
        }
        c.out = c.out != null ? c.out : path(string("outputs", "assignments"));
        c.format.value = overrides.contains("--format") ? c.format.value
                : orElse(string("outputs", "format"), c.format.value);
        c.model = c.model != null ? c.model : path(string("outputs", "model"));
        if (c.metricsJson.value == null) {
            c.metricsJson.value = path(string("outputs", "metricsJson"));
        }
        c.reportDir.value = c.reportDir.value != null ? c.reportDir.value : path(string("outputs", "reportDir"));
        c.master.value = c.master.value != null ? c.master.value : string("spark", "master");
        JsonNode channels = field("preprocessing", "channels");
        if (channels != null) {
            ParamOptions.setFromJson(c.decoder, "channels", channels, file + ": preprocessing.channels");
        }
        JsonNode pca = field("preprocessing", "pca");
        if (pca != null) {
            ParamOptions.setFromJson(c.pca, "k", pca, file + ": preprocessing.pca");
            c.withPca = true;
        }
        return c;
    }

    /**
     * Sets each field of {@code section} (but {@code skip}) as the param of that name on {@code stage}: the
     * command must expose it (the same params as its options). Command-line options set later win. {@code train}:
     * the train command whose arch field (a built-in name, JSON, or a file) this is, else null.
     */
    private void setParams(String section, Params stage, ParamOptions exposed, Set<String> skip, TrainCommand train) {
        JsonNode s = sections.get(section);
        if (s == null) {
            return;
        }
        for (Map.Entry<String, JsonNode> e : s.properties()) {
            String key = e.getKey();
            String where = file + ": " + section + "." + key;
            if (skip.contains(key) || e.getValue().isNull()) {
                continue;
            }
            Param<?> p = exposed.exposed(stage, key);
            if (p == null) {
                throw unknown(section, key, exposed.exposedNames(stage), stage);
            }
            JsonNode v = e.getValue();
            if (key.equals("arch") && train != null) {
                if (!v.isTextual() || v.asText().isBlank()) {
                    throw new UsageException(where + " must be a non-empty string but was " + v);
                }
                String arch = v.asText();
                boolean named = NetworkSpec.builtIns().contains(arch.trim().toLowerCase(Locale.ROOT))
                        || arch.trim().startsWith("{");
                String text = named ? arch : readArch(path(arch), where);
                train.archSource = named ? null : path(arch);
                ParamOptions.set(stage, p, text, where);
            } else if (PATH_PARAMS.contains(key) && v.isTextual() && !v.asText().isEmpty()) {
                ParamOptions.set(stage, p, path(v.asText()), where);
            } else {
                ParamOptions.setFromJson(stage, key, v, where);
            }
        }
    }

    private static String readArch(String path, String where) {
        File f = new File(path);
        if (!f.isFile()) {
            throw new UsageException(where + ": " + path + " is neither a built-in network ("
                    + String.join(", ", NetworkSpec.builtIns()) + ") nor a JSON file");
        }
        try {
            return Files.readString(f.toPath(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot read " + path, e);
        }
    }

    private UsageException unknown(String section, String key, List<String> known, Params stage) {
        String renamed = RENAMED.get(section + "." + key);
        return usage("unknown field " + section + "." + key
                + (renamed != null ? " (renamed: " + renamed + ")" : "")
                + (stage == null ? "" : " for " + stage.getClass().getSimpleName())
                + " (known: " + String.join(", ", known) + ")");
    }

    private void checkFields(String section, Set<String> known) {
        JsonNode s = sections.get(section);
        if (s == null) {
            return;
        }
        for (Map.Entry<String, JsonNode> e : s.properties()) {
            if (!known.contains(e.getKey())) {
                throw unknown(section, e.getKey(), known.stream().sorted().toList(), null);
            }
        }
    }

    private void require(String section, String key) {
        if (field(section, key) == null) {
            throw usage("missing field " + section + "." + key);
        }
    }

    private JsonNode field(String section, String key) {
        JsonNode s = sections.get(section);
        JsonNode v = s == null ? null : s.get(key);
        return v == null || v.isNull() ? null : v;
    }

    /** A string field, or null when absent. */
    private String string(String section, String key) {
        JsonNode v = field(section, key);
        if (v == null) {
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw usage(section + "." + key + " must be a non-empty string but was " + v);
        }
        return v.asText();
    }

    private static String orElse(String a, String b) {
        return a != null ? a : b;
    }

    /** A path field of the definition, resolved against the definition file's folder (null stays null). */
    private String path(String value) {
        if (value == null || value.contains("://") || new File(value).isAbsolute()) {
            return value;
        }
        File dir = new File(file).getAbsoluteFile().getParentFile();
        return dir.toPath().resolve(value).normalize().toString();
    }

    private UsageException usage(String message) {
        return new UsageException(file + ": " + message);
    }
}
