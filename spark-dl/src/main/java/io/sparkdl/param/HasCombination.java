package io.sparkdl.param;

import org.apache.spark.ml.param.Param;

/**
 * Shared param {@code combination}: how an ensemble's class probabilities are combined: {@code mean}
 * averages them, {@code vote} takes the class most members predict, {@code weighted} averages them with
 * per-member weights.
 */
public interface HasCombination<T extends HasCombination<T>> extends StageParams {
    static void declare(DeclaredParams d) {
        d.choice("combination", "How member probabilities are combined: mean, vote (majority, ties broken by the "
                + "mean probability) or weighted (weighted mean).", "mean", "mean", "vote", "weighted");
    }

    default Param<String> combination() {
        return declared().get("combination");
    }

    default String getCombination() {
        return $(combination());
    }

    @SuppressWarnings("unchecked")
    default T setCombination(String value) {
        set(combination(), value);
        return (T) this;
    }
}
