package io.sparkdl.explain;

import io.sparkdl.engine.InspectableNetwork;
import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.Normalization;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.Map;

/**
 * Saliency maps (Simonyan et al. 2014): for an image and a class, the gradient of the class's score
 * (the logit before softmax) with respect to the input pixels, as the network sees them in inference.
 * The map is its absolute value, the largest over the channels, per pixel.
 *
 * <p>DL4J computes input gradients only in training mode, where dropout drops and batch normalisation
 * uses the batch's statistics. So the gradient is taken on a twin network that is the trained one in
 * inference mode: dropout layers become identities, each batch normalisation becomes the fixed
 * per-channel affine map its running statistics define, and the softmax output becomes the identity
 * with a loss whose gradient is the class score's. On the torch engine the network's own inference-mode
 * autograd gives the gradient ({@link InspectableNetwork#classScoreGradient}).
 */
public final class Saliency {
    private Saliency() {
    }

    /**
     * The saliency of one image for one class.
     *
     * @param classIndex  the class explained
     * @param probability the model's probability of that class for this image
     * @param predicted   the model's predicted class
     * @param map         |d score / d pixel| per pixel, [height][width] at the network's input size
     * @param input       the image as the network takes it: channel-planar bytes, channels x height x width
     */
    public record Result(int classIndex, double probability, int predicted, float[][] map, byte[] input,
                         int channels) {
        public int height() {
            return map.length;
        }

        public int width() {
            return map[0].length;
        }
    }

    /**
     * Explains {@code classIndex} for {@code image}, or the predicted class when {@code classIndex} is negative.
     *
     * @param network       a trained classifier network (left unchanged)
     * @param inputShape    {height, width, channels} the network takes; the image is converted to it
     * @param normalization the standardisation the network was trained with (null: pixels / 255)
     */
    public static Result explain(MultiLayerNetwork network, int[] inputShape, Normalization normalization,
                                 ImageCodec.Pixels image, int classIndex) {
        int h = inputShape[0];
        int w = inputShape[1];
        int c = inputShape[2];
        byte[] planar = ImageCodec.toPlanar(image, c, h, w);
        float[] x = Normalization.toInput(planar, c, h * w, normalization);
        INDArray input = Nd4j.create(x, new long[]{1, c, h, w}, 'c');
        INDArray probs = network.output(input, false);
        int numClasses = (int) probs.size(1);
        int predicted = probs.argMax(1).getInt(0);
        int cls = chosenClass(classIndex, predicted, numClasses);
        MultiLayerNetwork twin = scoreNetwork(network, h, w, c);
        INDArray label = Nd4j.zeros(DataType.FLOAT, 1, numClasses);
        label.putScalar(0, cls, 1f);
        INDArray grad = twin.calculateGradients(input, label, null, null).getSecond();
        INDArray abs = Transforms.abs(grad, true).reshape(c, h, w).max(0);
        float[][] map = new float[h][w];
        for (int y = 0; y < h; y++) {
            for (int xx = 0; xx < w; xx++) {
                map[y][xx] = abs.getFloat((long) y * w + xx);
            }
        }
        return new Result(cls, probs.getDouble(0, cls), predicted, map, planar, c);
    }

    /**
     * Like {@link #explain(MultiLayerNetwork, int[], Normalization, ImageCodec.Pixels, int)} on an engine network
     * (the torch engine): the class logit's input gradient comes from the network itself, in inference mode, so
     * no twin is needed.
     *
     * @param network a trained classifier network with its weights set (left unchanged)
     */
    public static Result explain(InspectableNetwork network, int[] inputShape, Normalization normalization,
                                 ImageCodec.Pixels image, int classIndex) {
        int h = inputShape[0];
        int w = inputShape[1];
        int c = inputShape[2];
        byte[] planar = ImageCodec.toPlanar(image, c, h, w);
        float[] x = Normalization.toInput(planar, c, h * w, normalization);
        float[] probs = network.output(x, 1);
        int predicted = 0;
        for (int k = 1; k < probs.length; k++) {
            if (probs[k] > probs[predicted]) {
                predicted = k;
            }
        }
        int cls = chosenClass(classIndex, predicted, probs.length);
        float[] grad = network.classScoreGradient(x, 1, cls);
        float[][] map = new float[h][w];
        for (int y = 0; y < h; y++) {
            for (int xx = 0; xx < w; xx++) {
                float m = 0;
                for (int ch = 0; ch < c; ch++) {
                    m = Math.max(m, Math.abs(grad[(ch * h + y) * w + xx]));
                }
                map[y][xx] = m;
            }
        }
        return new Result(cls, probs[cls], predicted, map, planar, c);
    }

    /**
     * A picture of a result: the input as the network sees it, the saliency map as a heat map (black,
     * red, yellow, white as it grows, scaled to its largest value) and the two overlaid, side by side
     * under a caption. Small images are enlarged (nearest neighbour) to about 160 pixels.
     */
    public static BufferedImage render(Result r, String caption) {
        int h = r.height();
        int w = r.width();
        int s = Math.max(1, (int) Math.round(160.0 / Math.max(h, w)));
        int gap = 8;
        int top = 22;
        BufferedImage img = new BufferedImage(3 * w * s + 4 * gap, h * s + top + gap, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(caption, gap, 15);
        g.dispose();
        float max = 0;
        for (float[] row : r.map()) {
            for (float v : row) {
                max = Math.max(max, v);
            }
        }
        int hw = h * w;
        byte[] in = r.input();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red;
                int green;
                int blue;
                if (r.channels() == 3) {
                    red = in[y * w + x] & 0xff;
                    green = in[hw + y * w + x] & 0xff;
                    blue = in[2 * hw + y * w + x] & 0xff;
                } else {
                    red = in[y * w + x] & 0xff;
                    green = red;
                    blue = red;
                }
                int gray = (red * 299 + green * 587 + blue * 114) / 1000;
                float t = max > 0 ? r.map()[y][x] / max : 0;
                int hot = heat(t);
                int hr = (hot >> 16) & 0xff;
                int hg = (hot >> 8) & 0xff;
                int hb = hot & 0xff;
                int over = ((gray + hr) / 2 << 16) | ((gray + hg) / 2 << 8) | (gray + hb) / 2;
                int[] colours = {(red << 16) | (green << 8) | blue, hot, over};
                for (int panel = 0; panel < 3; panel++) {
                    int x0 = gap + panel * (w * s + gap) + x * s;
                    int y0 = top + y * s;
                    for (int dy = 0; dy < s; dy++) {
                        for (int dx = 0; dx < s; dx++) {
                            img.setRGB(x0 + dx, y0 + dy, colours[panel]);
                        }
                    }
                }
            }
        }
        return img;
    }

    /** The "hot" colour map: black, red, yellow, white for t in [0, 1]. */
    private static int heat(float t) {
        float v = Math.max(0, Math.min(1, t)) * 3;
        int red = (int) (255 * Math.min(1, v));
        int green = (int) (255 * Math.max(0, Math.min(1, v - 1)));
        int blue = (int) (255 * Math.max(0, Math.min(1, v - 2)));
        return (red << 16) | (green << 8) | blue;
    }

    /** The trained network in inference mode with the class score as output (see the class comment). */
    static MultiLayerNetwork scoreNetwork(MultiLayerNetwork net, int h, int w, int c) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int n = conf.getConfs().size();
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .updater(new NoOp()).list();
        for (int i = 0; i < n; i++) {
            org.deeplearning4j.nn.conf.layers.Layer l = conf.getConf(i).getLayer();
            org.deeplearning4j.nn.conf.layers.Layer t;
            if (l instanceof BatchNormalization bn) {
                long ch = bn.getNOut();
                t = isImage(conf, i, h, w, c)
                        ? new DepthwiseConvolution2D.Builder(1, 1).depthMultiplier(1).nIn(ch).nOut(ch)
                        .activation(Activation.IDENTITY).build()
                        : new DenseLayer.Builder().nIn(ch).nOut(ch).activation(Activation.IDENTITY).build();
            } else if (l instanceof DropoutLayer) {
                t = new ActivationLayer.Builder().activation(Activation.IDENTITY).build();
            } else if (i == n - 1 && l instanceof OutputLayer o) {
                t = new OutputLayer.Builder(new ClassScoreLoss()).nIn(o.getNIn()).nOut(o.getNOut())
                        .activation(Activation.IDENTITY).build();
            } else {
                t = l.clone();
            }
            if (t.getIDropout() != null) {
                t.setIDropout(null);
            }
            b.layer(t);
        }
        b.setInputType(InputType.convolutional(h, w, c));
        MultiLayerNetwork twin = new MultiLayerNetwork(b.build());
        twin.init();
        for (int i = 0; i < n; i++) {
            Layer src = net.getLayer(i);
            Layer dst = twin.getLayer(i);
            if (conf.getConf(i).getLayer() instanceof BatchNormalization bn) {
                INDArray[] affine = batchNormAffine(bn, src.paramTable());
                INDArray wt = dst.getParam("W");
                if (wt.rank() == 4) {
                    wt.assign(affine[0].reshape(wt.shape()));
                } else {
                    wt.assign(Nd4j.diag(affine[0].reshape(-1)));
                }
                dst.getParam("b").assign(affine[1].reshape(dst.getParam("b").shape()));
            } else {
                for (Map.Entry<String, INDArray> e : src.paramTable().entrySet()) {
                    dst.getParam(e.getKey()).assign(e.getValue());
                }
            }
        }
        return twin;
    }

    /** Whether layer {@code layer} of the network takes images (rank 4) rather than vectors. */
    private static boolean isImage(MultiLayerConfiguration conf, int layer, int h, int w, int c) {
        InputType in = layer == 0 ? InputType.convolutional(h, w, c)
                : conf.getLayerActivationTypes(InputType.convolutional(h, w, c)).get(layer - 1);
        return in instanceof InputType.InputTypeConvolutional;
    }

    /** {scale, shift} per channel: y = scale * x + shift, from a batch normalisation's running statistics. */
    static INDArray[] batchNormAffine(BatchNormalization bn, Map<String, INDArray> p) {
        INDArray mean = p.get("mean").castTo(DataType.DOUBLE).reshape(-1);
        INDArray std = bn.isUseLogStd()
                ? Transforms.pow(Nd4j.valueArrayOf(mean.shape(), 10.0, DataType.DOUBLE), p.get("log10stdev").castTo(DataType.DOUBLE)
                .reshape(-1))
                : Transforms.sqrt(p.get("var").castTo(DataType.DOUBLE).reshape(-1).add(bn.getEps()));
        INDArray gamma = bn.isLockGammaBeta() ? Nd4j.valueArrayOf(mean.shape(), bn.getGamma(), DataType.DOUBLE)
                : p.get("gamma").castTo(DataType.DOUBLE).reshape(-1);
        INDArray beta = bn.isLockGammaBeta() ? Nd4j.valueArrayOf(mean.shape(), bn.getBeta(), DataType.DOUBLE)
                : p.get("beta").castTo(DataType.DOUBLE).reshape(-1);
        INDArray scale = gamma.div(std);
        INDArray shift = beta.sub(mean.mul(scale));
        return new INDArray[]{scale.castTo(DataType.FLOAT), shift.castTo(DataType.FLOAT)};
    }

    /** {@code classIndex}, or the predicted class when it is negative; out of range is an error. */
    private static int chosenClass(int classIndex, int predicted, int numClasses) {
        int cls = classIndex < 0 ? predicted : classIndex;
        if (cls >= numClasses) {
            throw new IllegalArgumentException("class index " + cls + " is out of range: the model has "
                    + numClasses + " classes");
        }
        return cls;
    }
}
