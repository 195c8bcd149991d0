package io.sparkdl.eval;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/** Agreement between a clustering and known labels, from the contingency counts (computed on executors). */
public final class ClusteringMetrics {
    private ClusteringMetrics() {
    }

    /**
     * Normalised mutual information, {@code 2 I(C; L) / (H(C) + H(L))} (arithmetic normalisation, as
     * scikit-learn's default): 1 when clusters and labels match up to renaming, near 0 when independent.
     * Rows with a null cluster or label are left out.
     */
    public static double nmi(Dataset<Row> data, String clusterCol, String labelCol) {
        List<Row> counts = data.where(col(clusterCol).isNotNull().and(col(labelCol).isNotNull()))
                .groupBy(col(clusterCol).cast("string"), col(labelCol).cast("string")).count().collectAsList();
        Map<String, Long> byCluster = new HashMap<>();
        Map<String, Long> byLabel = new HashMap<>();
        long n = 0;
        for (Row r : counts) {
            byCluster.merge(r.getString(0), r.getLong(2), Long::sum);
            byLabel.merge(r.getString(1), r.getLong(2), Long::sum);
            n += r.getLong(2);
        }
        if (n == 0) {
            return Double.NaN;
        }
        double mi = 0;
        for (Row r : counts) {
            double nij = r.getLong(2);
            mi += nij / n * Math.log(nij * n / ((double) byCluster.get(r.getString(0)) * byLabel.get(r.getString(1))));
        }
        double hc = entropy(byCluster, n);
        double hl = entropy(byLabel, n);
        if (hc + hl == 0) {
            return 1.0;
        }
        return Math.max(0, 2 * mi / (hc + hl));
    }

    private static double entropy(Map<String, Long> counts, long n) {
        double h = 0;
        for (long c : counts.values()) {
            double p = (double) c / n;
            h -= p * Math.log(p);
        }
        return h;
    }
}
