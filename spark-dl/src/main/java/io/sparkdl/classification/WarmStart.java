package io.sparkdl.classification;

import io.sparkdl.nn.NetworkSpec;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Arrays;
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
}
