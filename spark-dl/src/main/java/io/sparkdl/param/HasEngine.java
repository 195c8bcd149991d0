package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/**
 * Shared param {@code engine}: the engine a CNN runs on, {@code torch} (libtorch through the JavaCPP presets,
 * the default: measured faster than nd4j at the same accuracy, see docs/BENCHMARKS.md) or {@code nd4j} (DL4J). {@code CnnClassifier} trains on it and the fitted
 * {@code CnnClassifierModel} keeps it for inference ({@code transform}, embeddings, saliency); it can be set on
 * a loaded model to switch engines, since both use the same flat parameter layout.
 */
public interface HasEngine<T extends HasEngine<T>> extends StageParams {
    /** Declares {@code engine} (default {@code torch}). */
    static void declare(DeclaredParams d) {
        d.choice("engine", "Training engine, which the model keeps for inference (set it on a model to switch): "
                + "torch (libtorch through the JavaCPP presets, the default) or nd4j (DL4J; same layers, "
                + "initialisation, updaters and parameter layout).", "torch", "nd4j", "torch");
    }

    default Param<String> engine() {
        return declared().get("engine");
    }

    default String getEngine() {
        return $(engine());
    }

    @SuppressWarnings("unchecked")
    default T setEngine(String value) {
        set(engine(), value);
        return (T) this;
    }
}
