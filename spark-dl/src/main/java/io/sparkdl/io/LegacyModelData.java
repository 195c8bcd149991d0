package io.sparkdl.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.classification.CnnTrainingSummary;
import io.sparkdl.image.Normalization;
import io.sparkdl.train.EpochStats;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads stage data in the layout of release 0.1, so models saved by it still load: {@code data/model.json}
 * and {@code data/ensemble.json} (Jackson trees) and {@code data/*.bin} (double arrays behind the magic
 * 0x53444C41, {@link HadoopFiles#readArrays}, which checks every count against the bytes left). Newer
 * releases write Parquet ({@link ModelData}); a reader calls this class when {@link #isLegacy} says so.
 */
public final class LegacyModelData {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The most classes a 0.1 model's label list may hold. */
    static final int MAX_LABELS = 1_000_000;

    private LegacyModelData() {
    }

    /** Whether {@code path} holds the 0.1 layout: {@code data/file} exists and {@code data/} holds no Parquet. */
    public static boolean isLegacy(String path, String file, Configuration conf) {
        String data = path + "/" + ModelData.DATA;
        return HadoopFiles.exists(data + "/" + file, conf) && !ModelData.isParquet(data, conf);
    }

    /** {@code data/normalization.bin}: mean and standard deviation per channel. */
    public static Normalization normalization(String path, Configuration conf) {
        String file = path + "/data/normalization.bin";
        double[][] a = HadoopFiles.readArrays(file, conf);
        HadoopFiles.require(a.length == 2 && a[0].length == a[1].length && a[0].length > 0, file,
                "a mean and a standard deviation per channel");
        return new Normalization(a[0], a[1]);
    }

    /** A PCA model's data. */
    public record Pca(double[] mean, double[][] components, double[] variance, double[] ratio, long numRows) {
    }

    /** {@code data/pca.bin}: mean, k variances, k ratios, [rows], k components. */
    public static Pca pca(String path, Configuration conf) {
        String file = path + "/data/pca.bin";
        double[][] a = HadoopFiles.readArrays(file, conf);
        HadoopFiles.require(a.length >= 5 && a[3].length == 1 && a[1].length == a.length - 4
                && a[2].length == a[1].length && a[0].length > 0
                && Arrays.stream(a, 4, a.length).allMatch(c -> c.length == a[0].length), file,
                "mean, k variances, k ratios, [rows] and k components as long as the mean");
        return new Pca(a[0], Arrays.copyOfRange(a, 4, a.length), a[1], a[2], (long) a[3][0]);
    }

    /** A k-means model's data. */
    public record KMeans(double[][] centers, long[] sizes, double trainingCost, int iterations) {
    }

    /** {@code data/kmeans.bin}: [cost, iterations], k cluster sizes, k centres. */
    public static KMeans kMeans(String path, Configuration conf) {
        String file = path + "/data/kmeans.bin";
        double[][] a = HadoopFiles.readArrays(file, conf);
        HadoopFiles.require(a.length >= 3 && a[0].length == 2 && a[1].length == a.length - 2
                && Arrays.stream(a, 2, a.length).allMatch(c -> c.length == a[2].length && c.length > 0), file,
                "[cost, iterations], k cluster sizes and k centres of one length");
        long[] sizes = new long[a[1].length];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = (long) a[1][i];
        }
        return new KMeans(Arrays.copyOfRange(a, 2, a.length), sizes, a[0][0], (int) a[0][1]);
    }

    /** An ensemble's data (its members are CnnClassifierModel folders in either layout). */
    public record Ensemble(double[] weights, double[] validationAccuracies) {
    }

    /** {@code data/ensemble.json}: member count, weights, validation accuracies (null: none). */
    public static Ensemble ensemble(String path, Configuration conf) {
        String file = path + "/data/ensemble.json";
        JsonNode data = json(file, conf);
        int n = data.path("members").asInt();
        HadoopFiles.require(n > 0 && data.path("weights").size() == n
                && data.path("validationAccuracies").size() == n, file,
                "a member count > 0 and as many weights and validation accuracies");
        double[] w = new double[n];
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = data.get("weights").get(i).asDouble();
            JsonNode ai = data.get("validationAccuracies").get(i);
            a[i] = ai == null || ai.isNull() ? Double.NaN : ai.asDouble();
        }
        return new Ensemble(w, a);
    }

    /** A classifier's data besides its network. */
    public record Classifier(String[] labels, int[] inputShape, Normalization normalization,
                             CnnTrainingSummary summary) {
    }

    /** {@code data/model.json}: labels, input shape, normalisation, training summary. */
    public static Classifier classifier(String path, Configuration conf) {
        String file = path + "/data/model.json";
        JsonNode data = json(file, conf);
        HadoopFiles.require(data.path("labels").isArray() && data.path("labels").size() <= MAX_LABELS
                && data.path("inputShape").size() == 3, file, "a label list and an input shape of 3");
        String[] labels = new String[data.get("labels").size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = data.get("labels").get(i).asText();
        }
        int[] shape = new int[3];
        for (int i = 0; i < 3; i++) {
            shape[i] = data.get("inputShape").get(i).asInt();
        }
        CnnTrainingSummary summary = null;
        JsonNode s = data.get("summary");
        if (s != null) {
            List<EpochStats> h = new ArrayList<>();
            for (JsonNode e : s.path("history")) {
                h.add(EpochStatsCodec.fromJson(e, file));
            }
            summary = s.has("keptEpoch")
                    ? new CnnTrainingSummary(h, s.get("skippedRows").asLong(), s.get("strategy").asText(),
                    s.get("workers").asInt(), s.get("keptEpoch").asInt())
                    : new CnnTrainingSummary(h, s.get("skippedRows").asLong(), s.get("strategy").asText(),
                    s.get("workers").asInt());
        }
        Normalization norm = null;
        if (data.has("normalization")) {
            JsonNode n = data.get("normalization");
            HadoopFiles.require(n.path("mean").size() > 0 && n.path("mean").size() == n.path("std").size(), file,
                    "a normalisation mean and std per channel");
            double[] mean = new double[n.get("mean").size()];
            double[] std = new double[mean.length];
            for (int c = 0; c < mean.length; c++) {
                mean[c] = n.get("mean").get(c).asDouble();
                std[c] = n.get("std").get(c).asDouble();
            }
            norm = new Normalization(mean, std);
        }
        return new Classifier(labels, shape, norm, summary);
    }

    private static JsonNode json(String file, Configuration conf) {
        try {
            return JSON.readTree(HadoopFiles.readString(file, conf));
        } catch (IOException e) {
            throw new ModelFileException(file, null, "corrupt JSON (" + e.getMessage() + ")", e);
        }
    }
}
