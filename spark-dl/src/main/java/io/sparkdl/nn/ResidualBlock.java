package io.sparkdl.nn;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * A basic residual block (He et al. 2016) as one layer, so that residual networks stay a plain layer
 * stack ({@code MultiLayerNetwork}) like every other spark-dl architecture:
 * {@code relu(conv_k(relu(conv_k(x, stride))) + shortcut(x))}, where both convolutions have "same"
 * padding and the shortcut is the identity, or a 1x1 convolution with the block's stride when the
 * shape changes. Weights are He-initialised and the second convolution starts at half scale, which
 * keeps the sum's variance near the input's in a deep stack. Batch normalisation goes between blocks
 * (a separate {@code batchnorm} layer), where DL4J keeps its running statistics.
 */
public class ResidualBlock extends SameDiffLayer {
    private static final long serialVersionUID = 1L;

    private long nIn;
    private long nOut;
    private int kernel;
    private int stride;

    /** For JSON deserialisation. */
    public ResidualBlock() {
    }

    public ResidualBlock(long nOut, int kernel, int stride) {
        this.nOut = nOut;
        this.kernel = kernel;
        this.stride = stride;
    }

    public long getNIn() { return nIn; }
    public void setNIn(long v) { nIn = v; }
    public long getNOut() { return nOut; }
    public void setNOut(long v) { nOut = v; }
    public int getKernel() { return kernel; }
    public void setKernel(int v) { kernel = v; }
    public int getStride() { return stride; }
    public void setStride(int v) { stride = v; }

    private boolean projection() {
        return stride != 1 || nIn != nOut;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.clear();
        params.addWeightParam("W1", kernel, kernel, nIn, nOut);
        params.addBiasParam("b1", nOut);
        params.addWeightParam("W2", kernel, kernel, nOut, nOut);
        params.addBiasParam("b2", nOut);
        if (projection()) {
            params.addWeightParam("Wp", 1, 1, nIn, nOut);
        }
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            INDArray p = e.getValue();
            if (e.getKey().startsWith("b")) {
                p.assign(0);
                continue;
            }
            long fanIn = p.size(0) * p.size(1) * p.size(2);
            double std = Math.sqrt(2.0 / fanIn) * (e.getKey().equals("W2") ? 0.5 : 1.0);
            p.assign(Nd4j.randn(p.dataType(), p.shape()).muli(std));
        }
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
        Conv2DConfig first = conv(kernel, stride);
        Conv2DConfig second = conv(kernel, 1);
        SDVariable h = sd.nn.relu(sd.cnn.conv2d(x, p.get("W1"), p.get("b1"), first), 0);
        SDVariable y = sd.cnn.conv2d(h, p.get("W2"), p.get("b2"), second);
        SDVariable shortcut = projection() ? sd.cnn.conv2d(x, p.get("Wp"), conv(1, stride)) : x;
        return sd.nn.relu(y.add(shortcut), 0);
    }

    private static Conv2DConfig conv(int k, int s) {
        return Conv2DConfig.builder().kH(k).kW(k).sH(s).sW(s).paddingMode(PaddingMode.SAME).dataFormat("NCHW")
                .build();
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional c)) {
            throw new IllegalArgumentException("a residual block needs image input, got " + inputType);
        }
        return InputType.convolutional((c.getHeight() + stride - 1) / stride, (c.getWidth() + stride - 1) / stride,
                nOut);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        if (nIn <= 0 || override) {
            nIn = ((InputType.InputTypeConvolutional) inputType).getChannels();
        }
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return null;
    }
}
