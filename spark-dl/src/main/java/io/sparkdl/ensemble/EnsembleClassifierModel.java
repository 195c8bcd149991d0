package io.sparkdl.ensemble;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.param.DeclaredParams;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Several CnnClassifierModels combined ({@code mean}, {@code vote} or {@code weighted}), with each
 * member's validation accuracy and weight. {@code transform} runs every member and combines their
 * probabilities with a {@link ProbabilityAverager}, adding {@code probability}, {@code prediction} and
 * {@code predictedLabel}.
 */
public class EnsembleClassifierModel extends Model<EnsembleClassifierModel>
        implements EnsembleClassifierParams<EnsembleClassifierModel>, MLWritable {
    private static final Logger LOG = LoggerFactory.getLogger(EnsembleClassifierModel.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String uid;
    private final CnnClassifierModel[] members;
    private final double[] weights;
    private final double[] validationAccuracies;

    private final DeclaredParams declared;

    EnsembleClassifierModel(String uid, CnnClassifierModel[] members, double[] weights, double[] accuracies) {
        this.uid = uid;
        this.members = members.clone();
        this.weights = weights.clone();
        this.validationAccuracies = accuracies.clone();
        declared = EnsembleClassifierParams.declare(this);
    }

    /** Wraps trained models (same classes, in the same order) into an ensemble that averages them. */
    public static EnsembleClassifierModel of(CnnClassifierModel... models) {
        return of(Identifiable$.MODULE$.randomUID("ensemble"), models, "mean", null);
    }

    /** Wraps trained models; {@code weights} may be null (equal weights). */
    public static EnsembleClassifierModel of(String uid, CnnClassifierModel[] models, String combination,
                                             double[] weights) {
        if (models.length == 0) {
            throw new IllegalArgumentException("an ensemble needs at least one member");
        }
        for (int i = 1; i < models.length; i++) {
            if (!java.util.Arrays.equals(models[i].labels(), models[0].labels())) {
                throw new IllegalArgumentException("member " + (i + 1) + " predicts classes "
                        + java.util.Arrays.toString(models[i].labels()) + " but member 1 predicts "
                        + java.util.Arrays.toString(models[0].labels()));
            }
        }
        double[] w = weights;
        if (w == null) {
            w = new double[models.length];
            java.util.Arrays.fill(w, 1.0 / models.length);
        } else if (w.length != models.length) {
            throw new IllegalArgumentException(models.length + " members but " + w.length + " weights");
        }
        double[] acc = new double[models.length];
        java.util.Arrays.fill(acc, Double.NaN);
        EnsembleClassifierModel m = new EnsembleClassifierModel(uid, models, w, acc);
        m.setCombination(combination);
        return m;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public CnnClassifierModel[] members() {
        return members.clone();
    }

    /** Member weights (sum 1); equal unless fitted for {@code weighted}. */
    public double[] weights() {
        return weights.clone();
    }

    /** Each member's accuracy on the validation split (NaN when none was measured). */
    public double[] validationAccuracies() {
        return validationAccuracies.clone();
    }

    public String[] labels() {
        return members[0].labels();
    }

    /**
     * Measures every member on {@code val} and, when {@code fitWeights}, fits the weights that minimise the
     * mixture's log-loss there (exponentiated gradient on the simplex, over at most 50,000 rows). Returns
     * a new model.
     */
    public EnsembleClassifierModel withValidation(Dataset<Row> val, String labelCol, boolean fitWeights) {
        int k = members.length;
        double[] acc = new double[k];
        String[] labels = labels();
        for (int i = 0; i < k; i++) {
            Dataset<Row> p = memberOutput(val, i);
            acc[i] = ClassificationMetrics.compute(p, labelCol, "__ens_c" + i, labels).accuracy();
        }
        double[] w = weights.clone();
        if (fitWeights) {
            Dataset<Row> all = val;
            for (int i = 0; i < k; i++) {
                all = memberOutput(all, i);
            }
            List<String> cols = new ArrayList<>(List.of(labelCol));
            for (int i = 0; i < k; i++) {
                cols.add("__ens_p" + i);
            }
            List<Row> rows = all.where(col(labelCol).isNotNull()).select(cols.stream().map(c -> col(c))
                    .toArray(org.apache.spark.sql.Column[]::new)).limit(50_000).collectAsList();
            boolean names = val.schema().apply(labelCol).dataType() instanceof StringType;
            Map<String, Integer> index = new HashMap<>();
            for (int c = 0; c < labels.length; c++) {
                index.put(labels[c], c);
            }
            List<double[]> pTrue = new ArrayList<>();
            for (Row r : rows) {
                Integer y = names ? index.get(r.getString(0)) : Integer.valueOf(((Number) r.get(0)).intValue());
                if (y == null || y < 0 || y >= labels.length) {
                    continue;
                }
                double[] v = new double[k];
                boolean ok = true;
                for (int i = 0; i < k && ok; i++) {
                    ok = !r.isNullAt(i + 1);
                    if (ok) {
                        v[i] = ((Vector) r.get(i + 1)).apply(y);
                    }
                }
                if (ok) {
                    pTrue.add(v);
                }
            }
            w = fitWeights(pTrue, k);
        }
        LOG.info("Ensemble {}: member validation accuracies {}, weights {}", uid, java.util.Arrays.toString(acc),
                java.util.Arrays.toString(w));
        EnsembleClassifierModel m = new EnsembleClassifierModel(uid, members, w, acc);
        return copyValues(m, ParamMap.empty());
    }

    /** Weights on the simplex minimising -mean log(sum_i w_i p_i(y)) by exponentiated gradient. */
    static double[] fitWeights(List<double[]> pTrue, int k) {
        double[] w = new double[k];
        java.util.Arrays.fill(w, 1.0 / k);
        if (pTrue.isEmpty()) {
            return w;
        }
        double eta = 0.5;
        for (int it = 0; it < 500; it++) {
            double[] g = new double[k];
            for (double[] p : pTrue) {
                double mix = 1e-12;
                for (int i = 0; i < k; i++) {
                    mix += w[i] * p[i];
                }
                for (int i = 0; i < k; i++) {
                    g[i] -= p[i] / mix / pTrue.size();
                }
            }
            double s = 0;
            for (int i = 0; i < k; i++) {
                w[i] *= Math.exp(-eta * g[i]);
                s += w[i];
            }
            for (int i = 0; i < k; i++) {
                w[i] /= s;
            }
        }
        return w;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    private Dataset<Row> memberOutput(Dataset<Row> data, int i) {
        return members[i].copy(ParamMap.empty()).setFeaturesCol(getFeaturesCol()).setProbabilityCol("__ens_p" + i)
                .setRawPredictionCol("__ens_r" + i).setPredictionCol("__ens_c" + i)
                .setPredictedLabelCol("__ens_l" + i).transform(data);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<Row> d = dataset.toDF();
        String[] probs = new String[members.length];
        List<String> temp = new ArrayList<>();
        for (int i = 0; i < members.length; i++) {
            d = memberOutput(d, i);
            probs[i] = "__ens_p" + i;
            temp.addAll(List.of("__ens_p" + i, "__ens_r" + i, "__ens_c" + i, "__ens_l" + i));
        }
        Dataset<Row> out = new ProbabilityAverager().setInputCols(probs)
                .setCombination(getCombination()).setWeights(weights).setLabels(labels())
                .setProbabilityCol(getProbabilityCol()).setPredictionCol(getPredictionCol())
                .setPredictedLabelCol(getPredictedLabelCol()).transform(d);
        return out.drop(temp.toArray(new String[0]));
    }

    @Override
    public EnsembleClassifierModel copy(ParamMap extra) {
        return copyValues(new EnsembleClassifierModel(uid, members, weights, validationAccuracies), extra)
                .setParent(parent());
    }

    // ---- persistence: metadata/, data/ensemble.json (weights, accuracies), members/<i>/ (each a CnnClassifierModel)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(EnsembleClassifierModel.this, path, spark.sparkContext());
                ObjectNode data = JSON.createObjectNode();
                data.put("members", members.length);
                var w = data.putArray("weights");
                var a = data.putArray("validationAccuracies");
                for (int i = 0; i < members.length; i++) {
                    w.add(weights[i]);
                    if (Double.isNaN(validationAccuracies[i])) {
                        a.addNull();
                    } else {
                        a.add(validationAccuracies[i]);
                    }
                }
                HadoopFiles.writeString(path + "/data/ensemble.json", data.toPrettyString(),
                        spark.sparkContext().hadoopConfiguration());
                for (int i = 0; i < members.length; i++) {
                    try {
                        members[i].write().save(path + "/members/" + i);
                    } catch (IOException e) {
                        throw new UncheckedIOException("Cannot save member " + i + " to " + path, e);
                    }
                }
            }
        };
    }

    public static MLReader<EnsembleClassifierModel> read() {
        return new MLReader<>() {
            @Override
            public EnsembleClassifierModel load(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                        EnsembleClassifierModel.class);
                JsonNode data;
                try {
                    data = JSON.readTree(HadoopFiles.readString(path + "/data/ensemble.json",
                            spark.sparkContext().hadoopConfiguration()));
                } catch (IOException e) {
                    throw new UncheckedIOException("Corrupt ensemble data in " + path + "/data/ensemble.json", e);
                }
                int n = data.path("members").asInt();
                HadoopFiles.require(n > 0 && data.path("weights").size() == n
                        && data.path("validationAccuracies").size() == n, path + "/data/ensemble.json",
                        "a member count > 0 and as many weights and validation accuracies");
                CnnClassifierModel[] ms = new CnnClassifierModel[n];
                double[] w = new double[n];
                double[] a = new double[n];
                for (int i = 0; i < n; i++) {
                    ms[i] = CnnClassifierModel.load(path + "/members/" + i);
                    w[i] = data.get("weights").get(i).asDouble();
                    JsonNode ai = data.get("validationAccuracies").get(i);
                    a[i] = ai == null || ai.isNull() ? Double.NaN : ai.asDouble();
                }
                EnsembleClassifierModel m = new EnsembleClassifierModel(meta.uid(), ms, w, a);
                meta.applyParams(m);
                return m;
            }
        };
    }

    public static EnsembleClassifierModel load(String path) {
        return read().load(path);
    }
}
