package io.sparkdl.ensemble;

import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.BatchIterator;
import io.sparkdl.param.DeclaredParams;
import io.sparkdl.param.HasCombination;
import io.sparkdl.param.HasPredictedLabelCol;
import io.sparkdl.param.HasPredictionCol;
import io.sparkdl.param.HasProbabilityCol;
import io.sparkdl.param.SharedParams;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Combines several class-probability vector columns already in a DataFrame (for example the outputs of
 * several classifiers) into one: {@code mean} averages them, {@code weighted} averages them with
 * {@code weights}, {@code vote} takes the class most members predict (ties broken by the mean
 * probability) and reports the mean probabilities. Adds {@code probabilityCol}, {@code predictionCol}
 * (class index as a double) and, when {@code labels} is set, {@code predictedLabelCol}. A row with any
 * null input gets null outputs.
 */
public class ProbabilityAverager extends Transformer implements HasCombination<ProbabilityAverager>,
        HasProbabilityCol<ProbabilityAverager>, HasPredictionCol<ProbabilityAverager>,
        HasPredictedLabelCol<ProbabilityAverager>, MLWritable {
    private final String uid;
    private final DeclaredParams declared;
    private final StringArrayParam inputCols;
    private final DoubleArrayParam weights;
    private final StringArrayParam labels;

    public ProbabilityAverager() {
        this(Identifiable$.MODULE$.randomUID("probabilityAverager"));
    }

    public ProbabilityAverager(String uid) {
        this.uid = uid;
        declared = new DeclaredParams(this);
        HasCombination.declare(declared);
        HasProbabilityCol.declare(declared, "Combined probability vector column.", "probability");
        HasPredictionCol.declare(declared, "Combined class index column.", "prediction");
        HasPredictedLabelCol.declare(declared, "Combined class name column (only with labels).", "predictedLabel");
        inputCols = new StringArrayParam(this, "inputCols", "Probability vector columns to combine (>= 1).",
                SharedParams.<String[]>validator(v -> v.length >= 1));
        weights = new DoubleArrayParam(this, "weights", "Non-negative weight per input column (combination "
                + "weighted; also weights the votes of combination vote).",
                SharedParams.<double[]>validator(v -> java.util.Arrays.stream(v).allMatch(w -> w >= 0)));
        labels = new StringArrayParam(this, "labels", "Class names by index (optional).");
        setDefault(weights, new double[0]);
        setDefault(labels, new String[0]);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public StringArrayParam inputCols() { return inputCols; }
    public DoubleArrayParam weights() { return weights; }
    public StringArrayParam labels() { return labels; }

    public String[] getInputCols() { return $(inputCols); }
    public double[] getWeights() { return $(weights); }
    public String[] getLabels() { return $(labels); }
    public ProbabilityAverager setInputCols(String... v) { set(inputCols, v); return this; }
    public ProbabilityAverager setWeights(double... v) { set(weights, v); return this; }
    public ProbabilityAverager setLabels(String... v) { set(labels, v); return this; }

    /** @deprecated renamed {@code combination}, as in EnsembleClassifier; use {@link #getCombination()}. */
    @Deprecated public String getMethod() { return getCombination(); }
    /** @deprecated renamed {@code combination}; use {@link #setCombination(String)}. */
    @Deprecated public ProbabilityAverager setMethod(String v) { return setCombination(v); }

    @Override
    public StructType transformSchema(StructType schema) {
        if (!isDefined(inputCols)) {
            throw new IllegalArgumentException("ProbabilityAverager " + uid + ": set inputCols");
        }
        for (String c : getInputCols()) {
            if (!SharedParams.requireColumn(schema, c, "Input").dataType().equals(SQLDataTypes.VectorType())) {
                throw new IllegalArgumentException("Input column '" + c + "' must be a probability vector but was "
                        + schema.apply(c).dataType().simpleString());
            }
        }
        double[] w = getWeights();
        if (getCombination().equals("weighted") && w.length != getInputCols().length) {
            throw new IllegalArgumentException("combination weighted needs one weight per input column: "
                    + getInputCols().length + " columns, " + w.length + " weights");
        }
        if (w.length > 0 && w.length != getInputCols().length) {
            throw new IllegalArgumentException("weights has " + w.length + " values for " + getInputCols().length
                    + " input columns");
        }
        if (w.length > 0 && java.util.Arrays.stream(w).sum() <= 0) {
            throw new IllegalArgumentException("weights must not all be zero");
        }
        SharedParams.requireAbsent(schema, getProbabilityCol(), "Probability");
        SharedParams.requireAbsent(schema, getPredictionCol(), "Prediction");
        StructType out = schema.add(getProbabilityCol(), SQLDataTypes.VectorType(), true)
                .add(getPredictionCol(), DataTypes.DoubleType, true);
        if (getLabels().length > 0) {
            SharedParams.requireAbsent(schema, getPredictedLabelCol(), "Predicted label");
            out = out.add(getPredictedLabelCol(), DataTypes.StringType, true);
        }
        return out;
    }

    /**
     * Combines one row's member probabilities: returns the combined probabilities; the prediction is
     * written to {@code prediction[0]}.
     */
    public static double[] combine(double[][] probs, String method, double[] weights, int[] prediction) {
        int k = probs[0].length;
        int m = probs.length;
        double[] w = new double[m];
        double wsum = 0;
        for (int i = 0; i < m; i++) {
            w[i] = method.equals("mean") || weights.length == 0 ? 1 : weights[i];
            wsum += w[i];
        }
        double[] p = new double[k];
        for (int i = 0; i < m; i++) {
            if (probs[i].length != k) {
                throw new IllegalArgumentException("probability vectors of different sizes: " + k + " and "
                        + probs[i].length);
            }
            for (int c = 0; c < k; c++) {
                p[c] += (method.equals("vote") ? 1.0 / m : w[i] / wsum) * probs[i][c];
            }
        }
        int best = 0;
        if (method.equals("vote")) {
            double[] votes = new double[k];
            for (int i = 0; i < m; i++) {
                int arg = 0;
                for (int c = 1; c < k; c++) {
                    if (probs[i][c] > probs[i][arg]) {
                        arg = c;
                    }
                }
                votes[arg] += weights.length == 0 ? 1 : weights[i];
            }
            for (int c = 1; c < k; c++) {
                if (votes[c] > votes[best] || (votes[c] == votes[best] && p[c] > p[best])) {
                    best = c;
                }
            }
        } else {
            for (int c = 1; c < k; c++) {
                if (p[c] > p[best]) {
                    best = c;
                }
            }
        }
        prediction[0] = best;
        return p;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        String[] cols = getInputCols();
        int[] idx = new int[cols.length];
        for (int i = 0; i < cols.length; i++) {
            idx[i] = dataset.schema().fieldIndex(cols[i]);
        }
        int nIn = dataset.schema().size();
        String m = getCombination();
        double[] w = getWeights();
        String[] names = getLabels();
        return dataset.toDF().mapPartitions((MapPartitionsFunction<Row, Row>) rows -> new BatchIterator(rows, 256,
                batch -> {
                    List<Row> o = new ArrayList<>(batch.size());
                    int[] pred = new int[1];
                    for (Row r : batch) {
                        double[][] probs = new double[idx.length][];
                        boolean ok = true;
                        for (int i = 0; i < idx.length && ok; i++) {
                            ok = !r.isNullAt(idx[i]);
                            if (ok) {
                                probs[i] = ((Vector) r.get(idx[i])).toArray();
                            }
                        }
                        if (!ok) {
                            o.add(names.length > 0 ? BatchIterator.append(r, nIn, null, null, null)
                                    : BatchIterator.append(r, nIn, null, null));
                            continue;
                        }
                        double[] p = combine(probs, m, w, pred);
                        if (names.length > 0) {
                            if (pred[0] >= names.length) {
                                throw new IllegalArgumentException("probability vectors have " + p.length
                                        + " classes but labels names " + names.length);
                            }
                            o.add(BatchIterator.append(r, nIn, Vectors.dense(p), (double) pred[0], names[pred[0]]));
                        } else {
                            o.add(BatchIterator.append(r, nIn, Vectors.dense(p), (double) pred[0]));
                        }
                    }
                    return o;
                }), Encoders.row(out));
    }

    @Override
    public ProbabilityAverager copy(ParamMap extra) {
        return (ProbabilityAverager) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return SparkMLInternals.paramsWriter(this);
    }

    /** Reads saved averagers, also those of releases that named {@code combination} {@code method}. */
    public static MLReader<ProbabilityAverager> read() {
        return SparkMLInternals.paramsReader(ProbabilityAverager.class, Map.of("method", "combination"));
    }

    public static ProbabilityAverager load(String path) {
        return read().load(path);
    }
}
