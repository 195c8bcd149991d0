package io.sparkdl.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.train.EpochStats;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one way {@link EpochStats} is persisted: the columns of {@link #SCHEMA}, one row per epoch. A model's
 * history is Parquet with this schema ({@code path/history}); checkpoints (written where no SparkSession is at
 * hand) and the CLI's metrics hold JSON objects with the same field names. A validation accuracy of NaN (no
 * validation set) is stored as null in both.
 */
public final class EpochStatsCodec {
    /** epoch, loss, trainAccuracy, validationAccuracy (null: no validation set), imagesPerSecond, seconds. */
    public static final StructType SCHEMA = new StructType()
            .add("epoch", DataTypes.IntegerType, false)
            .add("loss", DataTypes.DoubleType, false)
            .add("trainAccuracy", DataTypes.DoubleType, false)
            .add("validationAccuracy", DataTypes.DoubleType, true)
            .add("imagesPerSecond", DataTypes.DoubleType, false)
            .add("seconds", DataTypes.DoubleType, false);
    /** The most epochs a saved history may hold. */
    public static final int MAX_EPOCHS = 1_000_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private EpochStatsCodec() {
    }

    public static Row toRow(EpochStats e) {
        return RowFactory.create(e.epoch(), e.loss(), e.trainAccuracy(),
                Double.isNaN(e.validationAccuracy()) ? null : e.validationAccuracy(), e.imagesPerSecond(),
                e.seconds());
    }

    /** Reads a row with {@link #SCHEMA}'s columns (by name); {@code where} names its file in errors. */
    public static EpochStats fromRow(Row r, String where) {
        int v = r.fieldIndex("validationAccuracy");
        return new EpochStats((Integer) ModelData.value(r, "epoch", where),
                (Double) ModelData.value(r, "loss", where), (Double) ModelData.value(r, "trainAccuracy", where),
                r.isNullAt(v) ? Double.NaN : r.getDouble(v), (Double) ModelData.value(r, "imagesPerSecond", where),
                (Double) ModelData.value(r, "seconds", where));
    }

    /** The fields of {@link #SCHEMA} in order, for any JSON or map based writer. */
    public static Map<String, Object> toMap(EpochStats e) {
        Map<String, Object> m = new LinkedHashMap<>();
        Row r = toRow(e);
        for (int i = 0; i < SCHEMA.size(); i++) {
            m.put(SCHEMA.fields()[i].name(), r.get(i));
        }
        return m;
    }

    public static ObjectNode toJson(EpochStats e) {
        return JSON.valueToTree(toMap(e));
    }

    /** A history as a JSON array of {@link #toJson} objects (checkpoints, the CLI's and retraining's metrics). */
    public static ArrayNode toJson(List<EpochStats> history) {
        ArrayNode a = JSON.createArrayNode();
        history.forEach(e -> a.add(toJson(e)));
        return a;
    }

    /**
     * Reads what {@link #toJson} wrote. Checkpoints of the 0.1 release hold each epoch as an array in
     * {@link #SCHEMA}'s order, which is read too.
     */
    public static EpochStats fromJson(JsonNode n, String where) {
        JsonNode[] f = new JsonNode[SCHEMA.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = n.isArray() ? n.get(i) : n.get(SCHEMA.fields()[i].name());
            boolean optional = SCHEMA.fields()[i].nullable();
            if (!optional && (f[i] == null || !f[i].isNumber() && !f[i].isTextual())) {
                throw new ModelFileException(where, "an epoch lacks '" + SCHEMA.fields()[i].name() + "': " + n);
            }
        }
        return new EpochStats(f[0].asInt(), f[1].asDouble(), f[2].asDouble(),
                f[3] == null || f[3].isNull() ? Double.NaN : f[3].asDouble(), f[4].asDouble(), f[5].asDouble());
    }

    /** Writes a history as Parquet, one row per epoch, to the folder {@code dir}. */
    public static void write(SparkSession spark, List<EpochStats> history, String dir) {
        List<Row> rows = new ArrayList<>();
        for (EpochStats e : history) {
            rows.add(toRow(e));
        }
        ModelData.write(spark, dir, SCHEMA, rows);
    }

    /** Reads what {@link #write} wrote, in epoch order. */
    public static List<EpochStats> read(SparkSession spark, String dir) {
        List<EpochStats> out = new ArrayList<>();
        for (Row r : ModelData.read(spark, dir, SCHEMA, MAX_EPOCHS)) {
            out.add(fromRow(r, dir));
        }
        out.sort(Comparator.comparingInt(EpochStats::epoch));
        return out;
    }
}
