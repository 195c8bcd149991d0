package io.sparkdl.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassificationMetricsTest {
    private static ClassificationMetrics of(long[][] confusion) {
        String[] labels = new String[confusion.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = "c" + i;
        }
        return new ClassificationMetrics(labels, confusion);
    }

    @Test
    void chanceLevelIsGuessingOrTheMajorityClass() {
        // a constant predictor on balanced classes: 1/3
        ClassificationMetrics constant = of(new long[][]{{10, 0, 0}, {10, 0, 0}, {10, 0, 0}});
        assertEquals(1.0 / 3, constant.chanceAccuracy(), 1e-12);
        assertTrue(constant.atChanceLevel());
        // on imbalanced classes the majority share is the bar: 0.8 by always answering c0
        ClassificationMetrics majority = of(new long[][]{{80, 0}, {20, 0}});
        assertEquals(0.8, majority.chanceAccuracy(), 1e-12);
        assertTrue(majority.atChanceLevel());
        ClassificationMetrics learned = of(new long[][]{{8, 1, 1}, {1, 8, 1}, {2, 1, 7}});
        assertFalse(learned.atChanceLevel(), "0.77 on three balanced classes");
        ClassificationMetrics barely = of(new long[][]{{4, 3, 3}, {3, 4, 3}, {4, 3, 3}});
        assertTrue(barely.atChanceLevel(), "0.367 is within 0.05 of guessing: " + barely.accuracy());
        assertFalse(of(new long[][]{{4, 3, 3}, {3, 4, 3}, {3, 3, 4}}).atChanceLevel(), "0.40 is not");
    }
}
