package io.sparkdl.ensemble;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EnsembleTest {

    @Test
    void combineMeanWeightedAndVoteWithTieBreak() {
        int[] pred = new int[1];
        double[][] probs = {{0.6, 0.4, 0.0}, {0.0, 0.45, 0.55}, {0.1, 0.5, 0.4}};
        double[] mean = ProbabilityAverager.combine(probs, "mean", new double[0], pred);
        assertArrayEquals(new double[]{0.7 / 3, 1.35 / 3, 0.95 / 3}, mean, 1e-12);
        assertEquals(1, pred[0]);
        ProbabilityAverager.combine(probs, "weighted", new double[]{1, 0, 0}, pred);
        assertEquals(0, pred[0], "all weight on member 0");
        // votes: 0, 2, 1 -> a three-way tie, broken by the mean probability (class 1)
        ProbabilityAverager.combine(probs, "vote", new double[0], pred);
        assertEquals(1, pred[0]);
        double[][] twoForZero = {{0.6, 0.4}, {0.55, 0.45}, {0.0, 1.0}};
        ProbabilityAverager.combine(twoForZero, "vote", new double[0], pred);
        assertEquals(0, pred[0], "majority wins although class 1 has the higher mean probability");
    }

    @Test
    void fittedWeightsFavourTheBetterMember() {
        Random r = new Random(1);
        List<double[]> pTrue = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            pTrue.add(new double[]{0.6 + 0.3 * r.nextDouble(), 0.2 + 0.3 * r.nextDouble(), 0.05});
        }
        double[] w = EnsembleClassifierModel.fitWeights(pTrue, 3);
        assertEquals(1.0, w[0] + w[1] + w[2], 1e-9);
        assertTrue(w[0] > 0.9 && w[2] < 0.01, java.util.Arrays.toString(w));
    }

    @Test
    void trainsMembersMeasuresThemAndWrapsTrainedModels() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 12).cache();
        EnsembleClassifierModel m = new EnsembleClassifier().setNumMembers(2)
                .setEstimator(new io.sparkdl.classification.CnnClassifier().setEpochs(2).setBatchSize(16).setNumWorkers(1))
                .setValidationFraction(0.25).setSeed(3).fit(data);
        assertEquals(2, m.members().length);
        for (double a : m.validationAccuracies()) {
            assertTrue(a >= 0 && a <= 1, "measured: " + a);
        }
        assertArrayEquals(new double[]{0.5, 0.5}, m.weights(), 1e-12);
        List<Row> out = m.transform(data).select("probability", "prediction", "predictedLabel").collectAsList();
        assertEquals(data.count(), out.size());
        assertTrue(out.stream().allMatch(r -> !r.isNullAt(0) && r.getString(2) != null));
        String[] cols = m.transform(data).columns();
        assertEquals(data.columns().length + 3, cols.length, "only the three outputs are added");
        assertTrue(java.util.Arrays.stream(cols).noneMatch(c -> c.startsWith("__ens")), "no temporary columns");

        CnnClassifierModel a = m.members()[0];
        EnsembleClassifierModel wrapped = EnsembleClassifierModel.of(a, m.members()[1]).setCombination("vote");
        assertEquals(2, wrapped.members().length);
        assertTrue(Double.isNaN(wrapped.validationAccuracies()[0]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EnsembleClassifier().setCombination("weighted").setValidationFraction(0)
                        .transformSchema(data.schema()));
        assertTrue(e.getMessage().contains("validationFraction"), e.getMessage());
        data.unpersist();
    }
}
