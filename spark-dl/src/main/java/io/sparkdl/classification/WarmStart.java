package io.sparkdl.classification;

import io.sparkdl.nn.NetworkSpec;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.TreeSet;

/**
 * Network surgery for warm starts and transfer learning: the configuration of a trained model with this
 * run's optimiser, an output layer sized for the (possibly wider) label set, and frozen layers (a
 * learning rate of 0 and no regularisation, so their weights do not move); then the weights copied over,
 * the output layer's columns matched by class name so a class the old model knew keeps its weights.
 */
final class WarmStart {
    private WarmStart() {
    }

    /** The old model's classes plus any new ones in the data, sorted (a model never forgets a class). */
    static String[] labels(String[] old, String[] data) {
        TreeSet<String> all = new TreeSet<>(Arrays.asList(old));
        all.addAll(Arrays.asList(data));
        return all.toArray(new String[0]);
    }

    /** The initial model's architecture with {@code numClasses} outputs, this run's updater, first layers frozen. */
    static MultiLayerConfiguration configuration(CnnClassifierModel initial, int numClasses,
                                                 NetworkSpec.Settings settings, int frozenLayers) {
        MultiLayerConfiguration c = MultiLayerConfiguration.fromJson(
                initial.network().getLayerWiseConfigurations().toJson());
        int n = c.getConfs().size();
        if (frozenLayers >= n) {
            throw new IllegalArgumentException("frozenLayers = " + frozenLayers + " would freeze the whole network of "
                    + n + " layers (the output layer must train)");
        }
        Layer last = c.getConf(n - 1).getLayer();
        if (!(last instanceof BaseOutputLayer out)) {
            throw new IllegalArgumentException("the initial model's last layer is not an output layer");
        }
        out.setNOut(numClasses);
        IUpdater trainUpdater = NetworkSpec.updater(settings);
        for (int i = 0; i < n; i++) {
            c.getConf(i).setSeed(settings.seed());
            if (c.getConf(i).getLayer() instanceof BaseLayer bl) {
                boolean frozen = i < frozenLayers;
                bl.setIUpdater(frozen ? new Sgd(0.0) : trainUpdater.clone());
                bl.setBiasUpdater(frozen ? new Sgd(0.0) : trainUpdater.clone());
                if (frozen) {
                    bl.setRegularization(List.of());
                    bl.setRegularizationBias(List.of());
                }
            }
        }
        c.setIterationCount(0);
        c.setEpochCount(0);
        return c;
    }

    /** Copies the initial model's weights into {@code net}; output columns follow the class names. */
    static void copyWeights(CnnClassifierModel initial, MultiLayerNetwork net, String[] labels) {
        MultiLayerNetwork old = initial.network();
        int n = net.getnLayers();
        for (int i = 0; i < n - 1; i++) {
            INDArray p = old.getLayer(i).params();
            if (p != null && p.length() > 0) {
                net.getLayer(i).setParams(p.dup());
            }
        }
        INDArray oldW = old.getLayer(n - 1).getParam("W");
        INDArray oldB = old.getLayer(n - 1).getParam("b");
        INDArray newW = net.getLayer(n - 1).getParam("W");
        INDArray newB = net.getLayer(n - 1).getParam("b");
        List<String> oldLabels = Arrays.asList(initial.labels());
        for (int j = 0; j < labels.length; j++) {
            int o = oldLabels.indexOf(labels[j]);
            if (o >= 0) {
                newW.getColumn(j).assign(oldW.getColumn(o));
                newB.putScalar(j, oldB.getDouble(o));
            }
        }
    }

    /**
     * The architecture the torch engine builds for a warm start (it builds from a {@link NetworkSpec}, and a saved
     * model keeps only its DL4J configuration): {@code arch}, else the first built-in, whose configuration at the
     * initial model's input shape has the same layers as {@code warm} (type, activation, parameter count and
     * output shape, layer by layer).
     *
     * @throws IllegalArgumentException naming arch and initialModel when none matches
     */
    static String torchArch(MultiLayerConfiguration warm, String arch, String initialModel, int[] shape,
                            int numClasses, NetworkSpec.Settings settings) {
        List<String> want = signature(warm, shape);
        LinkedHashSet<String> candidates = new LinkedHashSet<>();
        candidates.add(arch);
        candidates.addAll(new java.util.TreeSet<>(NetworkSpec.builtIns()));
        for (String a : candidates) {
            try {
                MultiLayerConfiguration c = NetworkSpec.parse(a).toConfiguration(shape[0], shape[1], shape[2],
                        numClasses, settings);
                if (signature(c, shape).equals(want)) {
                    return a;
                }
            } catch (IllegalArgumentException e) {
                // this candidate does not fit the input: try the next
            }
        }
        throw new IllegalArgumentException("engine torch builds the network from arch, but arch (" + shortArch(arch)
                + ") and the built-ins " + NetworkSpec.builtIns() + " do not describe the network of initialModel "
                + initialModel + " (" + want.size() + " layers: " + want + "); set arch to the spec it was trained "
                + "with, or use engine nd4j");
    }

    private static String shortArch(String arch) {
        String a = arch.replaceAll("\\s+", " ");
        return a.length() > 60 ? a.substring(0, 60) + "..." : a;
    }

    /** Per layer: DL4J class, activation, parameter count and output shape. */
    private static List<String> signature(MultiLayerConfiguration c, int[] shape) {
        List<InputType> outputs = c.getLayerActivationTypes(InputType.convolutional(shape[0], shape[1], shape[2]));
        List<String> sig = new ArrayList<>();
        for (int i = 0; i < c.getConfs().size(); i++) {
            Layer l = c.getConf(i).getLayer();
            String activation = l instanceof BaseLayer b ? String.valueOf(b.getActivationFn())
                    : l instanceof ActivationLayer a ? String.valueOf(a.getActivationFn()) : "-";
            sig.add(l.getClass().getSimpleName() + "/" + activation + "/"
                    + l.initializer().numParams(c.getConf(i)) + "/" + outputs.get(i));
        }
        return sig;
    }
}
