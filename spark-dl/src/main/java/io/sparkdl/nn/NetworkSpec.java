package io.sparkdl.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ISchedule;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A CNN architecture: a built-in name ({@code lenet}) or a JSON layer spec, turned into a DL4J
 * configuration once the input shape and the number of classes are known.
 *
 * <pre>{@code
 * {"input": {"height": 28, "width": 28, "channels": 1},          (optional)
 *  "layers": [
 *  "weightInit": "xavier",                                         (or "he"; optional, per layer "init")
 *    {"type": "conv", "filters": 20, "kernel": 5, "stride": 1, "padding": 0, "activation": "relu"},
 *    {"type": "activation", "activation": "relu"},                 (after batchnorm: conv-BN-ReLU)
 *    {"type": "residual", "filters": 64, "kernel": 3, "stride": 2},  (a {@link ResidualBlock})
 *    {"type": "maxpool", "kernel": 2, "stride": 2},                (also "avgpool", "globalavgpool")
 *    {"type": "batchnorm"},
 *    {"type": "dropout", "rate": 0.5},                             (fraction dropped)
 *    {"type": "dense", "units": 500, "activation": "relu"},
 *    {"type": "output"}                                            (softmax over the classes; last)
 *  ]}
 * }</pre>
 * Activations: relu, leakyrelu, sigmoid, tanh, softmax, identity, elu. Errors name the layer and field.
 */
public final class NetworkSpec {
    /** The classic LeNet for 28x28 gray input: conv5x5x20-maxpool-conv5x5x50-maxpool-dense500-softmax. */
    public static final String LENET = """
            {"input": {"height": 28, "width": 28, "channels": 1},
             "layers": [
               {"type": "conv", "filters": 20, "kernel": 5, "activation": "relu"},
               {"type": "maxpool", "kernel": 2, "stride": 2},
               {"type": "conv", "filters": 50, "kernel": 5, "activation": "relu"},
               {"type": "maxpool", "kernel": 2, "stride": 2},
               {"type": "dense", "units": 500, "activation": "relu"},
               {"type": "output"}
             ]}""";

    /**
     * Conv-BN-ReLU stacks for 28x28 gray input, He-initialised: two 3x3 conv blocks of 32 and 64 filters
     * at 28x28 and 14x14, each block followed by 2x2 max pooling and dropout, then a batch-normalised
     * dense layer of 256 units and dropout 0.5.
     */
    public static final String BNCNN = """
            {"input": {"height": 28, "width": 28, "channels": 1},
             "weightInit": "he",
             "layers": [
               {"type": "conv", "filters": 32, "kernel": 3, "padding": 1, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "conv", "filters": 32, "kernel": 3, "padding": 1, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "maxpool", "kernel": 2, "stride": 2},
               {"type": "dropout", "rate": 0.25},
               {"type": "conv", "filters": 64, "kernel": 3, "padding": 1, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "conv", "filters": 64, "kernel": 3, "padding": 1, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "maxpool", "kernel": 2, "stride": 2},
               {"type": "dropout", "rate": 0.25},
               {"type": "dense", "units": 256, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "dropout", "rate": 0.5},
               {"type": "output"}
             ]}""";

    /**
     * A small residual network for 28x28 gray input: a 3x3 conv stem, three residual blocks that halve
     * the resolution and double the width (32, 64, 128 filters at 14x14, 7x7, 4x4), batch normalisation
     * after each, global average pooling and softmax. He-initialised.
     */
    public static final String RESNET = """
            {"input": {"height": 28, "width": 28, "channels": 1},
             "weightInit": "he",
             "layers": [
               {"type": "conv", "filters": 32, "kernel": 3, "padding": 1, "activation": "identity"},
               {"type": "batchnorm"},
               {"type": "activation", "activation": "relu"},
               {"type": "residual", "filters": 32, "kernel": 3, "stride": 2},
               {"type": "batchnorm"},
               {"type": "residual", "filters": 64, "kernel": 3, "stride": 2},
               {"type": "batchnorm"},
               {"type": "residual", "filters": 128, "kernel": 3, "stride": 2},
               {"type": "batchnorm"},
               {"type": "globalavgpool"},
               {"type": "output"}
             ]}""";

    private static final Map<String, String> BUILT_IN = Map.of("lenet", LENET, "bncnn", BNCNN, "resnet", RESNET);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final int[] defaultInput; // {h, w, c} or null
    private final List<JsonNode> layers;
    private final WeightInit weightInit;

    private NetworkSpec(String name, int[] defaultInput, List<JsonNode> layers, WeightInit weightInit) {
        this.name = name;
        this.defaultInput = defaultInput;
        this.layers = layers;
        this.weightInit = weightInit;
    }

    /** Names of the built-in architectures. */
    public static java.util.Set<String> builtIns() {
        return BUILT_IN.keySet();
    }

    /** Parses a built-in name or a JSON spec; throws IllegalArgumentException naming what is wrong. */
    public static NetworkSpec parse(String arch) {
        if (arch == null || arch.isBlank()) {
            throw new IllegalArgumentException("arch must be a built-in name (" + String.join(", ", builtIns())
                    + ") or a JSON layer spec, but was empty");
        }
        String key = arch.trim().toLowerCase(Locale.ROOT);
        String json = BUILT_IN.getOrDefault(key, arch);
        String name = BUILT_IN.containsKey(key) ? key : "custom";
        if (!json.trim().startsWith("{")) {
            throw new IllegalArgumentException("arch '" + arch + "' is neither a built-in architecture ("
                    + String.join(", ", builtIns()) + ") nor a JSON layer spec");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("arch JSON is not valid JSON: " + e.getMessage().split("\n")[0]);
        }
        int[] input = null;
        if (root.has("input")) {
            JsonNode in = root.get("input");
            input = new int[]{positive(in, "height", "input"), positive(in, "width", "input"),
                    positive(in, "channels", "input")};
        }
        JsonNode ls = root.get("layers");
        if (ls == null || !ls.isArray() || ls.isEmpty()) {
            throw new IllegalArgumentException("arch JSON needs a non-empty array 'layers'");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of("input", "layers", "weightInit").contains(f)) {
                throw new IllegalArgumentException("arch JSON has unknown field '" + f
                        + "'; allowed: input, layers, weightInit");
            }
        }
        WeightInit init = root.has("weightInit") ? weightInit(root.get("weightInit").asText(), "weightInit")
                : WeightInit.XAVIER;
        List<JsonNode> layers = new ArrayList<>();
        ls.forEach(layers::add);
        NetworkSpec spec = new NetworkSpec(name, input, layers, init);
        spec.validate();
        return spec;
    }

    public String name() {
        return name;
    }

    /** The spec's own input shape {height, width, channels}, or null when it takes it from the data. */
    public int[] defaultInput() {
        return defaultInput == null ? null : defaultInput.clone();
    }

    private void validate() {
        for (int i = 0; i < layers.size(); i++) {
            JsonNode l = layers.get(i);
            String where = "layers[" + i + "]";
            String type = text(l, "type", where);
            boolean last = i == layers.size() - 1;
            if (type.equals("output") != last) {
                throw new IllegalArgumentException(last
                        ? "the last layer (" + where + ") must be of type 'output' but was '" + type + "'"
                        : where + ": 'output' must be the last layer");
            }
            // Building with a dummy shape runs every field check without DL4J's own shape errors.
            toLayer(l, where, 10);
        }
    }

    /** The largest image side a network takes: bounds every size computation far from int overflow. */
    public static final int MAX_SIDE = 8192;

    /**
     * Checks, before any data is read, that every layer fits an input of {@code height x width x channels}:
     * throws IllegalArgumentException naming the layer that does not and the smallest square input the spec
     * takes. Sides must be in [1, {@value #MAX_SIDE}] and channels in [1, 4].
     */
    public void checkInput(int height, int width, int channels) {
        if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE) {
            throw new IllegalArgumentException("input size " + height + "x" + width + " is out of range: each side "
                    + "must be between 1 and " + MAX_SIDE);
        }
        if (channels < 1 || channels > 4) {
            throw new IllegalArgumentException("input channels must be between 1 and 4 but was " + channels);
        }
        String misfit = misfit(height, width);
        if (misfit != null) {
            int lo = 1;
            int hi = MAX_SIDE;
            if (misfit(hi, hi) != null) {
                throw new IllegalArgumentException("arch " + name + " fits no input size: " + misfit);
            }
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (misfit(mid, mid) == null) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            throw new IllegalArgumentException("arch " + name + " does not fit " + height + "x" + width + " input: "
                    + misfit + " (the smallest square input it takes is " + lo + "x" + lo + ")");
        }
    }

    /** The first layer that does not fit an input of h x w, described, or null when all fit. */
    private String misfit(int h, int w) {
        boolean flat = false;
        for (int i = 0; i < layers.size(); i++) {
            JsonNode l = layers.get(i);
            String type = l.get("type").asText().toLowerCase(Locale.ROOT);
            String where = "layers[" + i + "] (" + type;
            switch (type) {
                case "conv", "maxpool", "avgpool" -> {
                    boolean conv = type.equals("conv");
                    int k = conv ? l.get("kernel").asInt() : l.path("kernel").asInt(2);
                    int st = l.path("stride").asInt(conv ? 1 : k);
                    int p = l.path("padding").asInt(0);
                    if (flat) {
                        return where + ") comes after a layer that flattens the image";
                    }
                    if (h + 2 * p < k || w + 2 * p < k) {
                        return where + ", kernel " + k + "x" + k + (p > 0 ? ", padding " + p : "") + ") gets " + h
                                + "x" + w + " input";
                    }
                    h = (h + 2 * p - k) / st + 1;
                    w = (w + 2 * p - k) / st + 1;
                }
                case "residual" -> {
                    if (flat) {
                        return where + ") comes after a layer that flattens the image";
                    }
                    int st = l.path("stride").asInt(1);
                    h = (h + st - 1) / st;
                    w = (w + st - 1) / st;
                }
                case "globalavgpool", "globalmaxpool", "dense" -> flat = true;
                default -> {
                    // activation, batchnorm, dropout and output keep the shape
                }
            }
        }
        return null;
    }

    /**
     * Training settings that go into the DL4J configuration.
     *
     * @param weightDecay decoupled weight decay coefficient, scaled by the learning rate (0: none)
     * @param lrSchedule  a {@link LearningRateSchedule} spec ("" for a constant rate)
     * @param epochs      the number of epochs (cosine annealing ends there)
     */
    public record Settings(String updater, double learningRate, double momentum, double l2, long seed,
                           double weightDecay, String lrSchedule, int epochs) implements java.io.Serializable {
        public Settings(String updater, double learningRate, double momentum, double l2, long seed) {
            this(updater, learningRate, momentum, l2, seed, 0.0, "", 1);
        }
    }

    /** The DL4J configuration for this spec at a given input shape and class count. */
    public MultiLayerConfiguration toConfiguration(int height, int width, int channels, int numClasses,
                                                   Settings s) {
        checkInput(height, width, channels);
        NeuralNetConfiguration.Builder builder = new NeuralNetConfiguration.Builder()
                .seed(s.seed())
                .dataType(DataType.FLOAT)
                .updater(updater(s))
                .weightInit(weightInit)
                .l2(s.l2())
                .convolutionMode(ConvolutionMode.Truncate);
        if (s.weightDecay() > 0) {
            builder.weightDecay(s.weightDecay());
        }
        NeuralNetConfiguration.ListBuilder b = builder.list();
        for (int i = 0; i < layers.size(); i++) {
            b.layer(toLayer(layers.get(i), "layers[" + i + "]", numClasses));
        }
        b.setInputType(InputType.convolutional(height, width, channels));
        try {
            return b.build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("arch " + name + " does not fit input " + height + "x" + width + "x"
                    + channels + ": " + e.getMessage(), e);
        }
    }

    public static IUpdater updater(Settings s) {
        ISchedule lr = LearningRateSchedule.parse(s.lrSchedule(), s.learningRate(), s.epochs());
        if (lr != null) {
            return switch (s.updater()) {
                case "sgd" -> new Sgd(lr);
                case "momentum" -> {
                    Momentum m = new Momentum(s.learningRate(), s.momentum());
                    m.setLearningRateSchedule(lr);
                    yield m;
                }
                case "nesterov" -> new Nesterovs(lr, s.momentum());
                case "adam" -> new Adam(lr);
                default -> throw new IllegalArgumentException("updater must be one of sgd, momentum, nesterov, adam "
                        + "but was " + s.updater());
            };
        }
        return switch (s.updater()) {
            case "sgd" -> new Sgd(s.learningRate());
            case "momentum" -> new Momentum(s.learningRate(), s.momentum());
            case "nesterov" -> new Nesterovs(s.learningRate(), s.momentum());
            case "adam" -> new Adam(s.learningRate());
            default -> throw new IllegalArgumentException("updater must be one of sgd, momentum, nesterov, adam but was "
                    + s.updater());
        };
    }

    /**
     * One layer of the spec with every default filled in, so both engines (the DL4J configuration here and
     * {@code io.sparkdl.engine.torch}) read the same resolved values. Fields a type does not use are 0 or null.
     *
     * @param type       conv, residual, activation, maxpool, avgpool, globalavgpool, globalmaxpool, batchnorm,
     *                   dropout, dense or output
     * @param size       filters (conv, residual) or units (dense)
     * @param activation relu, leakyrelu, sigmoid, tanh, softmax, identity or elu (conv, activation, dense, output)
     * @param init       the layer's own weight init ("xavier" or "he"), or null for the spec's
     * @param rate       dropout's fraction dropped
     */
    public record LayerSpec(String type, int size, int kernel, int stride, int padding, String activation,
                            String init, double rate) {
    }

    /** The layers with defaults resolved, in order (the last is the output layer). */
    public List<LayerSpec> layerSpecs() {
        List<LayerSpec> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            out.add(layerSpec(layers.get(i), "layers[" + i + "]"));
        }
        return out;
    }

    /** The spec-wide weight init: "xavier" or "he". */
    public String weightInit() {
        return weightInit == WeightInit.RELU ? "he" : "xavier";
    }

    private static LayerSpec layerSpec(JsonNode l, String where) {
        String type = text(l, "type", where).toLowerCase(Locale.ROOT);
        checkFields(l, where, switch (type) {
            case "conv" -> List.of("type", "filters", "kernel", "stride", "padding", "activation", "init");
            case "activation" -> List.of("type", "activation");
            case "residual" -> List.of("type", "filters", "kernel", "stride");
            case "maxpool", "avgpool" -> List.of("type", "kernel", "stride", "padding");
            case "globalavgpool", "globalmaxpool", "batchnorm" -> List.of("type");
            case "dropout" -> List.of("type", "rate");
            case "dense" -> List.of("type", "units", "activation", "init");
            case "output" -> List.of("type", "activation", "init");
            default -> throw new IllegalArgumentException(where + ".type '" + type
                    + "' is unknown; use conv, residual, activation, maxpool, avgpool, globalavgpool, globalmaxpool, batchnorm, "
                    + "dropout, dense, output");
        });
        String init = l.has("init") ? initName(weightInit(l.get("init").asText(), where + ".init")) : null;
        return switch (type) {
            case "conv" -> new LayerSpec(type, positive(l, "filters", where), positive(l, "kernel", where),
                    optPositive(l, "stride", where, 1), optNonNegative(l, "padding", where, 0),
                    activationName(l, where, "relu"), init, 0);
            case "residual" -> new LayerSpec(type, positive(l, "filters", where), optPositive(l, "kernel", where, 3),
                    optPositive(l, "stride", where, 1), 0, null, null, 0);
            case "activation" -> {
                if (!l.has("activation")) {
                    throw new IllegalArgumentException(where + ".activation is required for an activation layer");
                }
                yield new LayerSpec(type, 0, 0, 0, 0, activationName(l, where, "relu"), null, 0);
            }
            case "maxpool", "avgpool" -> {
                int k = optPositive(l, "kernel", where, 2);
                yield new LayerSpec(type, 0, k, optPositive(l, "stride", where, k), optNonNegative(l, "padding", where, 0),
                        null, null, 0);
            }
            case "globalavgpool", "globalmaxpool", "batchnorm" -> new LayerSpec(type, 0, 0, 0, 0, null, null, 0);
            case "dropout" -> {
                double rate = l.has("rate") ? l.get("rate").asDouble(-1) : 0.5;
                if (!(rate > 0 && rate < 1)) {
                    throw new IllegalArgumentException(where + ".rate must be in (0, 1) but was " + l.get("rate"));
                }
                yield new LayerSpec(type, 0, 0, 0, 0, null, null, rate);
            }
            case "dense" -> new LayerSpec(type, positive(l, "units", where), 0, 0, 0, activationName(l, where, "relu"),
                    init, 0);
            case "output" -> {
                String a = activationName(l, where, "softmax");
                if (!a.equals("softmax")) {
                    throw new IllegalArgumentException(where + ".activation must be softmax for a classifier");
                }
                yield new LayerSpec(type, 0, 0, 0, 0, a, init, 0);
            }
            default -> throw new AssertionError(type);
        };
    }

    private static Layer toLayer(JsonNode json, String where, int numClasses) {
        LayerSpec l = layerSpec(json, where);
        WeightInit init = l.init() == null ? null : weightInit(l.init(), where + ".init");
        return switch (l.type()) {
            case "conv" -> {
                ConvolutionLayer.Builder cb = new ConvolutionLayer.Builder(l.kernel(), l.kernel())
                        .stride(l.stride(), l.stride()).padding(l.padding(), l.padding())
                        .nOut(l.size()).activation(activation(l.activation()));
                if (init != null) {
                    cb.weightInit(init);
                }
                yield cb.build();
            }
            case "residual" -> new ResidualBlock(l.size(), l.kernel(), l.stride());
            case "activation" -> new ActivationLayer.Builder().activation(activation(l.activation())).build();
            case "maxpool", "avgpool" ->
                    new SubsamplingLayer.Builder(l.type().equals("maxpool") ? PoolingType.MAX : PoolingType.AVG)
                            .kernelSize(l.kernel(), l.kernel()).stride(l.stride(), l.stride())
                            .padding(l.padding(), l.padding()).build();
            case "globalavgpool" -> new GlobalPoolingLayer.Builder(PoolingType.AVG).build();
            case "globalmaxpool" -> new GlobalPoolingLayer.Builder(PoolingType.MAX).build();
            case "batchnorm" -> new BatchNormalization.Builder().build();
            // DL4J's argument is the probability of keeping an activation.
            case "dropout" -> new DropoutLayer.Builder(1.0 - l.rate()).build();
            case "dense" -> {
                DenseLayer.Builder db = new DenseLayer.Builder().nOut(l.size()).activation(activation(l.activation()));
                if (init != null) {
                    db.weightInit(init);
                }
                yield db.build();
            }
            case "output" -> {
                OutputLayer.Builder ob = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(numClasses)
                        .activation(Activation.SOFTMAX);
                if (init != null) {
                    ob.weightInit(init);
                }
                yield ob.build();
            }
            default -> throw new AssertionError(l.type());
        };
    }

    private static String initName(WeightInit w) {
        return w == WeightInit.RELU ? "he" : "xavier";
    }

    /** xavier (Glorot, the default) or he (Kaiming, for ReLU networks). */
    private static WeightInit weightInit(String v, String where) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "xavier", "glorot" -> WeightInit.XAVIER;
            case "he", "kaiming", "relu" -> WeightInit.RELU;
            default -> throw new IllegalArgumentException(where + " '" + v + "' is unknown; use xavier or he");
        };
    }

    private static void checkFields(JsonNode l, String where, List<String> allowed) {
        for (Iterator<String> it = l.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new IllegalArgumentException(where + " has unknown field '" + f + "'; allowed: "
                        + String.join(", ", allowed));
            }
        }
    }

    private static String activationName(JsonNode l, String where, String dflt) {
        String a = l.has("activation") ? l.get("activation").asText() : dflt;
        String n = a.toLowerCase(Locale.ROOT).replace("_", "");
        return switch (n) {
            case "relu", "leakyrelu", "sigmoid", "tanh", "softmax", "identity", "elu" -> n;
            case "linear" -> "identity";
            default -> throw new IllegalArgumentException(where + ".activation '" + a
                    + "' is unknown; use relu, leakyrelu, sigmoid, tanh, softmax, identity or elu");
        };
    }

    private static Activation activation(String name) {
        return switch (name) {
            case "relu" -> Activation.RELU;
            case "leakyrelu" -> Activation.LEAKYRELU;
            case "sigmoid" -> Activation.SIGMOID;
            case "tanh" -> Activation.TANH;
            case "softmax" -> Activation.SOFTMAX;
            case "identity" -> Activation.IDENTITY;
            case "elu" -> Activation.ELU;
            default -> throw new AssertionError(name);
        };
    }

    private static String text(JsonNode l, String field, String where) {
        JsonNode n = l.get(field);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException(where + "." + field + " must be a string");
        }
        return n.asText();
    }

    private static int positive(JsonNode l, String field, String where) {
        JsonNode n = l.get(field);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw new IllegalArgumentException(where + "." + field + " must be a positive integer but was " + n);
        }
        return n.asInt();
    }

    private static int optPositive(JsonNode l, String field, String where, int dflt) {
        return l.has(field) ? positive(l, field, where) : dflt;
    }

    private static int optNonNegative(JsonNode l, String field, String where, int dflt) {
        if (!l.has(field)) {
            return dflt;
        }
        JsonNode n = l.get(field);
        if (!n.isIntegralNumber() || n.asInt() < 0) {
            throw new IllegalArgumentException(where + "." + field + " must be a non-negative integer but was " + n);
        }
        return n.asInt();
    }
}
