package io.sparkdl.engine.torch;

import io.sparkdl.engine.InspectableNetwork;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.nn.NetworkSpec.LayerSpec;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DimnameListOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A {@link NetworkSpec} network on libtorch, trained without {@code torch::optim} so that all its state is two
 * flat fp32 vectors: the parameters and the updater state. Parameter averaging is then a plain average of
 * vectors, as on the ND4J engine.
 *
 * <p><b>Parameter order</b> is DL4J's flat order for the same spec, so a vector moves between the engines
 * unchanged: layer by layer, and within a layer
 * <ul>
 *   <li>conv: bias [out], weights [out, in, k, k];</li>
 *   <li>dense and output: weights [out, in] (DL4J's [in, out] in column-major order), bias [out];</li>
 *   <li>batchnorm: gamma, beta, running mean, running log10 of the standard deviation
 *   ({@code log10(sqrt(var + eps))}, DL4J's default "useLogStd"); the last two are updated from batch
 *   statistics, never by the updater;</li>
 *   <li>residual: W1 [k, k, in, out], W2 [k, k, out, out], Wp [1, 1, in, out] (when the shape changes),
 *   b1, b2, the {@link io.sparkdl.nn.ResidualBlock} layout (weights permuted to [out, in, k, k] when used).</li>
 * </ul>
 * Each parameter is a leaf tensor that shares its storage with one contiguous parameter vector, and its
 * {@code grad} is the matching view of one contiguous gradient vector, so libtorch accumulates every gradient in
 * place into the flat gradient (no full-length gradient per parameter, as views of one leaf would cost) and the
 * updater and averaging see two flat vectors.
 *
 * <p><b>Semantics follow DL4J's</b>: weight init (xavier: N(0, 2/(fanIn+fanOut)), he: N(0, 2/fanIn), conv fan-out
 * divided by the stride area, residual as {@link io.sparkdl.nn.ResidualBlock}), "truncate" convolution mode,
 * average pooling that leaves padding out of the divisor, "same" padding in residual blocks (extra padding at the
 * bottom and right), inverted dropout, batch normalisation with eps 1e-5 and decay 0.9 on the biased batch
 * variance, L2 and weight decay on weights only (see {@link FlatUpdater}).
 *
 * <p><b>Frozen layers</b> (transfer learning): the first {@code frozenLayers} layers never change. Their gradient and
 * update are masked to zero (so no updater state, L2 or weight decay reaches them either) and, as DL4J's
 * {@code FrozenLayer} does, they always run in inference mode: a frozen batch norm normalises with its running
 * statistics and leaves them as they are, a frozen dropout keeps every value.
 *
 * <p><b>bf16</b> (autocast semantics; only where the CPU has native bf16, see {@link TorchRuntime#nativeBf16()},
 * otherwise a warning and fp32): the master weights, the updater, batch norm, softmax and the loss stay fp32;
 * convolutions (residual blocks' too) and dense layers cast their input, weights and bias to bfloat16, compute,
 * and cast the result back to fp32. Autograd carries the gradient through the casts to the fp32 master vector.
 *
 * <p>Not thread-safe. Tensors live off-heap: every call runs in its own {@link PointerScope}, and {@link #close()}
 * frees the rest.
 */
public final class TorchNetwork implements InspectableNetwork {
    static final double BN_EPS = 1e-5;
    static final double BN_DECAY = 0.9;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TorchNetwork.class);
    private static volatile boolean warnedNoBf16;

    private final List<Op> ops = new ArrayList<>();
    private final int channels;
    private final int height;
    private final int width;
    private final int numClasses;
    private final int numParams;
    /** 1 where the parameter is a weight (L2 and weight decay apply), 0 for biases and batch norm. */
    private final float[] weightMask;
    private final Tensor flat;
    /** The gradient of {@link #flat}: every parameter leaf's {@code grad} is a view of it. */
    private final Tensor flatGrad;
    /** The weight mask with frozen layers' entries 0: where L2 and weight decay apply. */
    private final Tensor mask;
    /** 1 where the parameter trains, 0 in frozen layers; null when nothing is frozen. */
    private final Tensor trainable;
    private final int frozenLayers;
    private final boolean bf16;
    private final FlatUpdater updater;
    private final Generator generator;

    /**
     * Builds the network with DL4J's initialisation rules, drawing weights from {@code settings.seed()}.
     *
     * @param threads libtorch intra-op threads for this JVM
     */
    public TorchNetwork(NetworkSpec spec, int height, int width, int channels, int numClasses,
                        NetworkSpec.Settings settings, int threads) {
        this(spec, height, width, channels, numClasses, settings, threads, 0, false);
    }

    /**
     * Builds the network with DL4J's initialisation rules, drawing weights from {@code settings.seed()}.
     *
     * @param threads      libtorch intra-op threads for this JVM
     * @param frozenLayers the first N layers never change (callers set their trained weights with
     *                     {@link #setParams}); fewer than the number of layers
     * @param bf16         convolutions and dense layers in bfloat16 where the CPU has native bf16
     */
    public TorchNetwork(NetworkSpec spec, int height, int width, int channels, int numClasses,
                        NetworkSpec.Settings settings, int threads, int frozenLayers, boolean bf16) {
        TorchRuntime.init(threads);
        if (frozenLayers < 0 || frozenLayers >= spec.layerSpecs().size()) {
            throw new IllegalArgumentException("frozenLayers = " + frozenLayers + " must be in [0, "
                    + spec.layerSpecs().size() + ") for arch " + spec.name() + " of " + spec.layerSpecs().size()
                    + " layers (the output layer must train)");
        }
        this.frozenLayers = frozenLayers;
        this.bf16 = bf16 && bf16Available();
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.numClasses = numClasses;
        boolean he = spec.weightInit().equals("he");
        Shape shape = new Shape(channels, height, width);
        int offset = 0;
        List<LayerSpec> layers = spec.layerSpecs();
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec l = layers.get(i);
            Op op = Op.create(l, i, shape, offset, numClasses,
                    l.init() == null ? he : l.init().equals("he"));
            if (op.out.features() <= 0) {
                throw new IllegalArgumentException("arch " + spec.name() + " does not fit input " + height + "x"
                        + width + "x" + channels + ": layers[" + i + "] (" + l.type() + ") gets an empty output "
                        + op.out);
            }
            op.frozen = i < frozenLayers;
            op.bf16 = this.bf16;
            ops.add(op);
            offset += op.numParams;
            shape = op.out;
        }
        numParams = offset;
        weightMask = new float[numParams];
        float[] init = new float[numParams];
        SplittableRandom random = new SplittableRandom(settings.seed());
        for (Op op : ops) {
            op.init(init, weightMask, random);
        }
        flat = persistent(fromArray(init, numParams));
        flatGrad = persistent(torch.zeros_like(flat));
        for (Op op : ops) {
            op.bind(flat, flatGrad);
        }
        int frozenParams = 0;
        for (Op op : ops) {
            frozenParams += op.frozen ? op.numParams : 0;
        }
        float[] decayMask = weightMask.clone();
        java.util.Arrays.fill(decayMask, 0, frozenParams, 0f);
        mask = persistent(fromArray(decayMask, numParams));
        if (frozenParams > 0) {
            float[] t = new float[numParams];
            java.util.Arrays.fill(t, frozenParams, numParams, 1f);
            trainable = persistent(fromArray(t, numParams));
        } else {
            trainable = null;
        }
        updater = new FlatUpdater(settings, numParams);
        generator = torch.make_generator_cpu(settings.seed());
        generator.retainReference();
    }

    /** Whether native bf16 is there; warns once per JVM when bf16 was asked for without it. */
    private static boolean bf16Available() {
        if (TorchRuntime.nativeBf16()) {
            return true;
        }
        if (!warnedNoBf16) {
            warnedNoBf16 = true;
            LOG.warn("torch engine: precision bf16 asked for, but this CPU has no native bf16 (neither avx512_bf16 "
                    + "nor amx_bf16 in /proc/cpuinfo): training in fp32");
        }
        return false;
    }

    @Override
    public int numParams() {
        return numParams;
    }

    /** Whether convolutions and dense layers compute in bfloat16 (asked for and supported by the CPU). */
    public boolean bf16() {
        return bf16;
    }

    /** The first N layers that never change. */
    public int frozenLayers() {
        return frozenLayers;
    }

    /** The master parameters' element type (fp32 also under bf16). */
    torch.ScalarType parameterType() {
        return flat.scalar_type().intern();
    }

    public int numClasses() {
        return numClasses;
    }

    /** A copy of the flat parameter vector (layout in the class comment). */
    @Override
    public float[] params() {
        return toArray(flat);
    }

    @Override
    public void setParams(float[] p) {
        check(p, numParams, "params");
        try (NoGradGuard g = new NoGradGuard()) {
            TorchRuntime.write(flat, p, numParams);
        }
    }

    /** Which parameters are weights (1) rather than biases or batch norm values (0), in the flat order. */
    public float[] weightMask() {
        return weightMask.clone();
    }

    public FlatUpdater updater() {
        return updater;
    }

    @Override
    public float[] updaterState() {
        return updater.stateSize() == 0 ? null : updater.state();
    }

    @Override
    public void setUpdaterState(float[] state) {
        updater.setState(state == null ? new float[updater.stateSize()] : state);
    }

    @Override
    public void setIteration(int iteration, int epoch) {
        updater.setIteration(iteration);
        updater.setEpoch(epoch);
    }

    /** Re-seeds dropout masks, so a round's local fit draws depend only on what the caller seeds. */
    @Override
    public void setSeed(long seed) {
        generator.set_current_seed(seed);
    }

    /**
     * One training step on a minibatch.
     *
     * @param features n images, NCHW, {@code n * channels * height * width} floats
     * @param labels   n class indices
     * @return the minibatch's mean cross-entropy before the step
     */
    @Override
    public double fit(float[] features, int[] labels, int n) {
        check(features, (long) n * channels * height * width, "features");
        if (labels.length < n) {
            throw new IllegalArgumentException("labels has " + labels.length + " values for " + n + " images");
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor x = fromArray(features, n, channels, height, width);
            Tensor y = labelTensor(labels, n);
            List<Tensor[]> batchStats = new ArrayList<>();
            Tensor logits = forward(x, true, batchStats);
            Tensor loss = torch.nll_loss(torch.log_softmax(logits, 1), y);
            double value = loss.item_float();
            loss.backward();
            Tensor grad = flatGrad;
            try (NoGradGuard g = new NoGradGuard()) {
                updater.step(flat, grad, mask, trainable);
                int k = 0;
                for (Op op : ops) {
                    if (op instanceof BatchNorm bn && !bn.frozen) {
                        bn.updateRunningStats(flat, batchStats.get(k++));
                    }
                }
                grad.zero_();
            }
            return value;
        }
    }

    /** Class probabilities in inference mode (dropout off, batch norm on running statistics), n x classes. */
    @Override
    public float[] output(float[] features, int n) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            return toArray(forward(fromArray(features, n, channels, height, width), false, null).softmax(1));
        }
    }

    /** The minibatch's mean cross-entropy in training mode (batch statistics, dropout), without a step. */
    public double loss(float[] features, int[] labels, int n) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor logits = forward(fromArray(features, n, channels, height, width), true, null);
            return torch.nll_loss(torch.log_softmax(logits, 1), labelTensor(labels, n)).item_float();
        }
    }

    /**
     * The activations after each layer (index i = after layers[i]; the last entry is the logits, before
     * softmax), for inspection and tests.
     */
    public List<float[]> activations(float[] features, int n, boolean training) {
        List<float[]> out = new ArrayList<>();
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor x = fromArray(features, n, channels, height, width);
            for (Op op : ops) {
                x = op.forward(x, flat, training && !op.frozen, generator, null);
                out.add(toArray(x));
            }
        }
        return out;
    }

    @Override
    public int numLayers() {
        return ops.size();
    }

    /**
     * Layer {@code layer}'s output in inference mode, computed only up to that layer; for the output layer the
     * class probabilities, as DL4J gives them.
     */
    @Override
    public float[] activation(float[] features, int n, int layer) {
        if (layer < 0 || layer >= ops.size()) {
            throw new IllegalArgumentException("layer " + layer + " is outside the network's layers 0.."
                    + (ops.size() - 1));
        }
        check(features, (long) n * channels * height * width, "features");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor x = fromArray(features, n, channels, height, width);
            for (int i = 0; i <= layer; i++) {
                x = ops.get(i).forward(x, flat, false, generator, null);
            }
            // DL4J's output layer gives probabilities; its op here gives the logits
            return toArray(layer == ops.size() - 1 ? x.softmax(1) : x);
        }
    }

    /**
     * The input gradient of a class logit in inference mode, by autograd on an input that requires grad. The
     * parameters' gradient that the same backward pass accumulates is zeroed again, so a later {@link #fit}
     * is unaffected.
     */
    @Override
    public float[] classScoreGradient(float[] features, int n, int classIndex) {
        if (classIndex < 0 || classIndex >= numClasses) {
            throw new IllegalArgumentException("class index " + classIndex + " is out of range: the network has "
                    + numClasses + " classes");
        }
        check(features, (long) n * channels * height * width, "features");
        try (PointerScope scope = new PointerScope()) {
            Tensor x = fromArray(features, n, channels, height, width);
            x.requires_grad_(true);
            forward(x, false, null).select(1, classIndex).sum().backward();
            try (NoGradGuard g = new NoGradGuard()) {
                float[] grad = toArray(x.grad());
                flatGrad.zero_();
                return grad;
            }
        }
    }

    /**
     * The gradient of the minibatch's mean cross-entropy with respect to the flat parameters (training mode;
     * parameters, running statistics and updater state are left as they were). Dropout draws from the seeded
     * generator.
     */
    public float[] gradient(float[] features, int[] labels, int n) {
        try (PointerScope scope = new PointerScope()) {
            Tensor logits = forward(fromArray(features, n, channels, height, width), true, new ArrayList<>());
            torch.nll_loss(torch.log_softmax(logits, 1), labelTensor(labels, n)).backward();
            try (NoGradGuard g = new NoGradGuard()) {
                float[] grad = toArray(flatGrad);
                flatGrad.zero_();
                return grad;
            }
        }
    }

    List<Op> opsForTest() {
        return ops;
    }

    private Tensor forward(Tensor x, boolean training, List<Tensor[]> batchStats) {
        for (Op op : ops) {
            x = op.forward(x, flat, training && !op.frozen, generator, batchStats);
        }
        return x;
    }

    @Override
    public void close() {
        for (Op op : ops) {
            op.release();
        }
        flat.releaseReference();
        flatGrad.releaseReference();
        mask.releaseReference();
        if (trainable != null) {
            trainable.releaseReference();
        }
        updater.close();
        generator.releaseReference();
    }

    // ---- tensors <-> arrays -------------------------------------------------------------------------------

    static Tensor persistent(Tensor t) {
        // Kept beyond any PointerScope the caller may have open.
        t.retainReference();
        return t;
    }

    static Tensor fromArray(float[] a, long... shape) {
        Tensor t = torch.empty(shape, new DimnameListOptional(), new TensorOptions(torch.ScalarType.Float),
                new MemoryFormatOptional());
        t.data_ptr_float().put(a, 0, (int) t.numel());
        return TorchRuntime.onDevice(t);
    }

    static float[] toArray(Tensor t) {
        Tensor c = TorchRuntime.onHost(t).contiguous();
        float[] a = new float[(int) c.numel()];
        FloatPointer p = c.data_ptr_float();
        p.get(a);
        return a;
    }

    private static Tensor labelTensor(int[] labels, int n) {
        Tensor t = torch.empty(new long[]{n}, new DimnameListOptional(), new TensorOptions(torch.ScalarType.Long),
                new MemoryFormatOptional());
        LongPointer p = t.data_ptr_long();
        for (int i = 0; i < n; i++) {
            p.put(i, labels[i]);
        }
        return TorchRuntime.onDevice(t);
    }

    private static void check(float[] a, long expected, String what) {
        if (a.length < expected) {
            throw new IllegalArgumentException(what + " has " + a.length + " values but " + expected
                    + " are needed");
        }
    }

    // ---- layers -------------------------------------------------------------------------------------------

    /** An activation shape: channels x height x width for images, or (features, 0, 0) for vectors. */
    record Shape(int c, int h, int w) {
        boolean image() {
            return h > 0;
        }

        long features() {
            return image() ? (long) c * h * w : c;
        }

        @Override
        public String toString() {
            return image() ? c + "x" + h + "x" + w : String.valueOf(c);
        }
    }

    /** One layer: its slice of the flat vector and its forward pass. */
    abstract static class Op {
        final int index;
        final Shape in;
        final int offset;
        Shape out;
        int numParams;
        /** Runs in inference mode and never changes (see the class comment). */
        boolean frozen;
        /** Convolutions and matrix products in bfloat16. */
        boolean bf16;

        Op(int index, Shape in, int offset) {
            this.index = index;
            this.in = in;
            this.offset = offset;
        }

        static Op create(LayerSpec l, int index, Shape in, int offset, int numClasses, boolean he) {
            return switch (l.type()) {
                case "conv" -> new Conv(l, index, in, offset, he);
                case "residual" -> new Residual(l, index, in, offset);
                case "dense" -> new Dense(index, in, offset, l.size(), l.activation(), he);
                case "output" -> new Dense(index, in, offset, numClasses, "identity", he);
                case "batchnorm" -> new BatchNorm(index, in, offset);
                default -> new Stateless(l, index, in, offset);
            };
        }

        /** Writes initial values and the weight mask for this layer's slice. */
        void init(float[] params, float[] weightMask, SplittableRandom random) {
        }

        abstract Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> batchStats);

        private Tensor flat;
        private Tensor flatGrad;
        /** The parameter leaves made so far, by their start in this layer's slice. */
        private final java.util.Map<Integer, Tensor> leaves = new java.util.HashMap<>();

        /** The network's parameter and gradient vectors, that {@link #view} makes leaves of. */
        void bind(Tensor flat, Tensor flatGrad) {
            this.flat = flat;
            this.flatGrad = flatGrad;
        }

        /**
         * The parameter flat[offset + from, +length) with the given shape: a leaf tensor sharing the flat vector's
         * storage, whose gradient accumulates into the same slice of the flat gradient. Made once per parameter.
         */
        Tensor view(Tensor flat, int from, long... shape) {
            if (flat != this.flat) {
                throw new IllegalArgumentException("layers[" + index + "] is bound to its network's own parameters");
            }
            Tensor leaf = leaves.get(from);
            if (leaf == null) {
                long n = numel(shape);
                try (PointerScope scope = new PointerScope()) {
                    leaf = persistent(flat.narrow(0, offset + from, n).view(shape).detach());
                    leaf.requires_grad_(true);
                    // the leaf's grad is a view of the flat gradient: autograd adds into it in place
                    leaf.mutable_grad().put(flatGrad.narrow(0, offset + from, n).view(shape));
                }
                leaves.put(from, leaf);
            }
            return leaf;
        }

        /** Values flat[offset + from, +length) that take no gradient (running statistics). */
        Tensor values(Tensor flat, int from, int length) {
            return flat.narrow(0, offset + from, length).detach();
        }

        void release() {
            for (Tensor t : leaves.values()) {
                t.releaseReference();
            }
            leaves.clear();
        }

        private static long numel(long... shape) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }

        static void gaussian(float[] p, float[] weightMask, int from, int n, double std, SplittableRandom r) {
            for (int i = from; i < from + n; i++) {
                p[i] = (float) (r.nextGaussian() * std);
                weightMask[i] = 1;
            }
        }

        static double std(boolean he, double fanIn, double fanOut) {
            return he ? Math.sqrt(2.0 / fanIn) : Math.sqrt(2.0 / (fanIn + fanOut));
        }

        /** {@code t} in bfloat16 when this layer computes in bf16, else {@code t} itself. */
        Tensor low(Tensor t) {
            return bf16 && t != null ? t.to(torch.ScalarType.BFloat16) : t;
        }

        /** A result back in fp32 (a no-op in fp32). */
        Tensor full(Tensor t) {
            return bf16 ? t.to(torch.ScalarType.Float) : t;
        }

        static Tensor activate(Tensor x, String activation) {
            return switch (activation) {
                case "relu" -> torch.relu(x);
                case "leakyrelu" -> torch.leaky_relu(x, new Scalar(0.01));
                case "sigmoid" -> x.sigmoid();
                case "tanh" -> x.tanh();
                case "softmax" -> x.softmax(1);
                case "elu" -> torch.elu(x);
                case "identity" -> x;
                default -> throw new IllegalArgumentException("unknown activation " + activation);
            };
        }

        static int convOut(int size, int k, int s, int p) {
            return size + 2 * p < k ? 0 : (size + 2 * p - k) / s + 1;
        }

        Shape requireImage(String type) {
            if (!in.image()) {
                throw new IllegalArgumentException("layers[" + index + "] (" + type + ") needs image input but gets "
                        + "a vector of " + in.c());
            }
            return in;
        }
    }

    static final class Conv extends Op {
        private final int filters;
        private final int k;
        private final int stride;
        private final int pad;
        private final String activation;
        private final boolean he;

        Conv(LayerSpec l, int index, Shape in, int offset, boolean he) {
            super(index, in, offset);
            requireImage("conv");
            filters = l.size();
            k = l.kernel();
            stride = l.stride();
            pad = l.padding();
            activation = l.activation();
            this.he = he;
            out = new Shape(filters, convOut(in.h(), k, stride, pad), convOut(in.w(), k, stride, pad));
            numParams = filters + filters * in.c() * k * k;
        }

        @Override
        void init(float[] p, float[] m, SplittableRandom r) {
            double fanIn = (double) in.c() * k * k;
            double fanOut = (double) filters * k * k / ((double) stride * stride);
            gaussian(p, m, offset + filters, filters * in.c() * k * k, std(he, fanIn, fanOut), r);
        }

        @Override
        Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> stats) {
            Tensor b = view(flat, 0, filters);
            Tensor w = view(flat, filters, filters, in.c(), k, k);
            Tensor y = full(torch.conv2d(low(x), low(w), new TensorOptional(low(b)), new long[]{stride, stride},
                    new long[]{pad, pad}, new long[]{1, 1}, 1));
            return activate(y, activation);
        }
    }

    /** {@link io.sparkdl.nn.ResidualBlock}: relu(conv(relu(conv(x, stride))) + shortcut(x)), "same" padding. */
    static final class Residual extends Op {
        private final int filters;
        private final int k;
        private final int stride;
        private final boolean projection;

        Residual(LayerSpec l, int index, Shape in, int offset) {
            super(index, in, offset);
            requireImage("residual");
            filters = l.size();
            k = l.kernel();
            stride = l.stride();
            projection = stride != 1 || in.c() != filters;
            out = new Shape(filters, (in.h() + stride - 1) / stride, (in.w() + stride - 1) / stride);
            numParams = k * k * in.c() * filters + k * k * filters * filters + (projection ? in.c() * filters : 0)
                    + 2 * filters;
        }

        private int w2() {
            return k * k * in.c() * filters;
        }

        private int wp() {
            return w2() + k * k * filters * filters;
        }

        private int b1() {
            return wp() + (projection ? in.c() * filters : 0);
        }

        @Override
        void init(float[] p, float[] m, SplittableRandom r) {
            gaussian(p, m, offset, w2(), Math.sqrt(2.0 / (k * k * in.c())), r);
            gaussian(p, m, offset + w2(), wp() - w2(), Math.sqrt(2.0 / (k * k * filters)) * 0.5, r);
            if (projection) {
                gaussian(p, m, offset + wp(), b1() - wp(), Math.sqrt(2.0 / in.c()), r);
            }
        }

        @Override
        Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> stats) {
            // [k, k, in, out] -> [out, in, k, k]
            Tensor w1 = view(flat, 0, k, k, in.c(), filters).permute(3, 2, 0, 1);
            Tensor w2 = view(flat, w2(), k, k, filters, filters).permute(3, 2, 0, 1);
            Tensor b1 = view(flat, b1(), filters);
            Tensor b2 = view(flat, b1() + filters, filters);
            Tensor h = torch.relu(full(same(low(x), low(w1), low(b1), k, stride, in.h(), in.w())));
            Tensor y = full(same(low(h), low(w2), low(b2), k, 1, out.h(), out.w()));
            Tensor shortcut = projection
                    ? full(same(low(x), low(view(flat, wp(), 1, 1, in.c(), filters).permute(3, 2, 0, 1)), null, 1,
                    stride, in.h(), in.w()))
                    : x;
            return torch.relu(y.add(shortcut));
        }

        /** A convolution with "same" padding: the total padding split with the extra row/column at the end. */
        private static Tensor same(Tensor x, Tensor w, Tensor b, int k, int s, int h, int wd) {
            int padH = Math.max(((h + s - 1) / s - 1) * s + k - h, 0);
            int padW = Math.max(((wd + s - 1) / s - 1) * s + k - wd, 0);
            TensorOptional bias = b == null ? new TensorOptional() : new TensorOptional(b);
            if (padH % 2 == 0 && padW % 2 == 0) {
                return torch.conv2d(x, w, bias, new long[]{s, s}, new long[]{padH / 2, padW / 2}, new long[]{1, 1}, 1);
            }
            Tensor padded = torch.constant_pad_nd(x, padW / 2, padW - padW / 2, padH / 2, padH - padH / 2);
            return torch.conv2d(padded, w, bias, new long[]{s, s}, new long[]{0, 0}, new long[]{1, 1}, 1);
        }
    }

    static final class Dense extends Op {
        private final int units;
        private final String activation;
        private final boolean he;
        private final long nIn;

        Dense(int index, Shape in, int offset, int units, String activation, boolean he) {
            super(index, in, offset);
            this.units = units;
            this.activation = activation;
            this.he = he;
            nIn = in.features();
            out = new Shape(units, 0, 0);
            numParams = (int) (nIn * units + units);
        }

        @Override
        void init(float[] p, float[] m, SplittableRandom r) {
            gaussian(p, m, offset, (int) (nIn * units), std(he, nIn, units), r);
        }

        @Override
        Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> stats) {
            Tensor w = view(flat, 0, units, nIn);
            Tensor b = view(flat, (int) (nIn * units), units);
            Tensor flatX = in.image() ? x.reshape(x.size(0), nIn) : x;
            return activate(full(torch.linear(low(flatX), low(w), new TensorOptional(low(b)))), activation);
        }
    }

    static final class BatchNorm extends Op {
        private final int n;

        BatchNorm(int index, Shape in, int offset) {
            super(index, in, offset);
            n = in.c();
            out = in;
            numParams = 4 * n;
        }

        @Override
        void init(float[] p, float[] m, SplittableRandom r) {
            for (int i = 0; i < n; i++) {
                p[offset + i] = 1; // gamma; beta, mean and log10(std) start at 0 (std 1)
            }
        }

        @Override
        Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> batchStats) {
            Tensor gamma = view(flat, 0, n);
            Tensor beta = view(flat, n, n);
            if (training) {
                // the batch's mean and 1/sqrt(biased var + eps) come out of the same pass that normalises
                T_TensorTensorTensor_T r = torch.native_batch_norm(x, new TensorOptional(gamma),
                        new TensorOptional(beta), new TensorOptional(), new TensorOptional(), true, 0.0, BN_EPS);
                if (batchStats != null) {
                    batchStats.add(new Tensor[]{r.get1().detach(), r.get2().detach()});
                }
                return r.get0();
            }
            Tensor mean = values(flat, 2 * n, n);
            // var = 10^(2 log10 std) - eps, so that batch_norm's sqrt(var + eps) is the stored std.
            Tensor var = torch.pow(new Scalar(100.0), values(flat, 3 * n, n)).sub(new Scalar(BN_EPS));
            return torch.batch_norm(x, new TensorOptional(gamma), new TensorOptional(beta), new TensorOptional(mean),
                    new TensorOptional(var), false, 0.0, BN_EPS, false);
        }

        /**
         * DL4J's update: mean = d*mean + (1-d)*batchMean, std^2 = d*std^2 + (1-d)*(batchVar + eps), from the
         * batch's mean and invstd = 1/sqrt(batchVar + eps).
         */
        void updateRunningStats(Tensor flat, Tensor[] stats) {
            Tensor mean = flat.narrow(0, offset + 2 * n, n);
            Tensor log10Std = flat.narrow(0, offset + 3 * n, n);
            mean.mul_(new Scalar(BN_DECAY)).add_(stats[0], new Scalar(1 - BN_DECAY));
            Tensor varEps = stats[1].mul(stats[1]).reciprocal_();
            Tensor s2 = torch.pow(new Scalar(100.0), log10Std).mul_(new Scalar(BN_DECAY))
                    .add_(varEps, new Scalar(1 - BN_DECAY));
            log10Std.copy_(s2.log10_().mul_(new Scalar(0.5)));
        }
    }

    /** Layers without parameters: activation, pooling, global pooling, dropout. */
    static final class Stateless extends Op {
        private final LayerSpec l;

        Stateless(LayerSpec l, int index, Shape in, int offset) {
            super(index, in, offset);
            this.l = l;
            out = switch (l.type()) {
                case "maxpool", "avgpool" -> {
                    requireImage(l.type());
                    yield new Shape(in.c(), convOut(in.h(), l.kernel(), l.stride(), l.padding()),
                            convOut(in.w(), l.kernel(), l.stride(), l.padding()));
                }
                case "globalavgpool", "globalmaxpool" -> {
                    requireImage(l.type());
                    yield new Shape(in.c(), 0, 0);
                }
                case "activation", "dropout" -> in;
                default -> throw new IllegalArgumentException("layers[" + index + "]: unknown type " + l.type());
            };
        }

        @Override
        Tensor forward(Tensor x, Tensor flat, boolean training, Generator gen, List<Tensor[]> stats) {
            long[] k = {l.kernel(), l.kernel()};
            long[] s = {l.stride(), l.stride()};
            long[] p = {l.padding(), l.padding()};
            return switch (l.type()) {
                case "activation" -> activate(x, l.activation());
                case "maxpool" -> torch.max_pool2d(x, k, s, p, new long[]{1, 1}, false);
                case "avgpool" -> torch.avg_pool2d(x, k, s, p, false, false, new LongOptional());
                case "globalavgpool" -> x.mean(new long[]{2, 3}, false, new ScalarTypeOptional());
                case "globalmaxpool" -> x.amax(new long[]{2, 3}, false);
                case "dropout" -> {
                    if (!training) {
                        yield x;
                    }
                    double keep = 1 - l.rate();
                    Tensor maskT = TorchRuntime.onDevice(TorchRuntime.emptyForCpuGenerator(x)
                            .bernoulli_(keep, new GeneratorOptional(gen)).div_(new Scalar(keep)));
                    yield x.mul(maskT);
                }
                default -> throw new AssertionError(l.type());
            };
        }
    }
}
