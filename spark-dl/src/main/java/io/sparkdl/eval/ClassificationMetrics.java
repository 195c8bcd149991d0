package io.sparkdl.eval;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StringType;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Multiclass metrics from a confusion matrix counted on the executors (only K x K counts reach the
 * driver): accuracy, per-class precision/recall/F1/support and support-weighted F1.
 */
public final class ClassificationMetrics {
    private final String[] labels;
    private final long[][] confusion;

    public ClassificationMetrics(String[] labels, long[][] confusion) {
        this.labels = labels.clone();
        this.confusion = confusion;
    }

    /**
     * Counts (true label, predicted index) pairs. {@code labelCol} may hold class names (matched against
     * {@code labels}) or indices. Rows with a null label or null prediction, or a class name the model
     * does not know, are not counted; {@link #unknown} reports the last kind separately.
     */
    public static ClassificationMetrics compute(Dataset<Row> predictions, String labelCol, String predictionCol,
                                                String[] labels) {
        List<Row> counts = predictions.where(col(labelCol).isNotNull().and(col(predictionCol).isNotNull()))
                .groupBy(col(labelCol), col(predictionCol)).count().collectAsList();
        boolean names = predictions.schema().apply(labelCol).dataType() instanceof StringType;
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.length; i++) {
            index.put(labels[i], i);
        }
        long[][] m = new long[labels.length][labels.length];
        long unknown = 0;
        for (Row r : counts) {
            Integer t = names ? index.get(r.getString(0)) : Integer.valueOf(((Number) r.get(0)).intValue());
            int p = (int) r.getDouble(1);
            if (t == null || t < 0 || t >= labels.length) {
                unknown += r.getLong(2);
                continue;
            }
            m[t][p] += r.getLong(2);
        }
        ClassificationMetrics cm = new ClassificationMetrics(labels, m);
        cm.unknown = unknown;
        return cm;
    }

    private long unknown;

    /** Rows whose true label is not one of the model's classes (not counted in the metrics). */
    public long unknown() {
        return unknown;
    }

    public String[] labels() {
        return labels.clone();
    }

    public long[][] confusionMatrix() {
        long[][] c = new long[confusion.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = confusion[i].clone();
        }
        return c;
    }

    public long total() {
        return Arrays.stream(confusion).flatMapToLong(Arrays::stream).sum();
    }

    public double accuracy() {
        long correct = 0;
        for (int i = 0; i < confusion.length; i++) {
            correct += confusion[i][i];
        }
        long n = total();
        return n == 0 ? Double.NaN : (double) correct / n;
    }

    /** How far above guessing an accuracy must be for {@link #atChanceLevel} to be false. */
    public static final double CHANCE_MARGIN = 0.05;

    /**
     * The accuracy of guessing: the larger of 1/classes and the most frequent class's share (what a constant
     * predictor scores).
     */
    public double chanceAccuracy() {
        long n = total();
        long most = 0;
        for (int k = 0; k < labels.length; k++) {
            most = Math.max(most, support(k));
        }
        return Math.max(1.0 / labels.length, n == 0 ? 0 : (double) most / n);
    }

    /**
     * True when the accuracy is within {@value #CHANCE_MARGIN} of {@link #chanceAccuracy}: the model learned
     * nothing usable (a diverged run, a constant predictor).
     */
    public boolean atChanceLevel() {
        return total() > 0 && labels.length > 1 && accuracy() <= chanceAccuracy() + CHANCE_MARGIN;
    }

    public long support(int k) {
        return Arrays.stream(confusion[k]).sum();
    }

    public double precision(int k) {
        long predicted = 0;
        for (long[] row : confusion) {
            predicted += row[k];
        }
        return predicted == 0 ? 0.0 : (double) confusion[k][k] / predicted;
    }

    public double recall(int k) {
        long s = support(k);
        return s == 0 ? 0.0 : (double) confusion[k][k] / s;
    }

    public double f1(int k) {
        double p = precision(k);
        double r = recall(k);
        return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
    }

    public double weightedF1() {
        long n = total();
        if (n == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (int k = 0; k < labels.length; k++) {
            s += f1(k) * support(k);
        }
        return s / n;
    }

    /** The metrics as a JSON-ready map (accuracy, weightedF1, labels, perClass, confusionMatrix). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("accuracy", accuracy());
        m.put("weightedF1", weightedF1());
        m.put("labels", List.of(labels));
        Map<String, Object> per = new LinkedHashMap<>();
        for (int k = 0; k < labels.length; k++) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("precision", precision(k));
            c.put("recall", recall(k));
            c.put("f1", f1(k));
            c.put("support", support(k));
            per.put(labels[k], c);
        }
        m.put("perClass", per);
        m.put("confusionMatrix", confusionMatrix());
        m.put("chanceAccuracy", chanceAccuracy());
        m.put("atChanceLevel", atChanceLevel());
        return m;
    }
}
