package io.sparkdl.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.io.EpochStatsCodec;
import io.sparkdl.io.HadoopFiles;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Training checkpoints in a folder (local or any Hadoop FileSystem): {@code epoch-N/} holds the weights,
 * updater state and block-momentum velocity ({@code state.bin}, {@link HadoopFiles#writeArrays}'s arrays:
 * checkpoints are written from the training loop, where no SparkSession need be at hand) and the history
 * ({@code state.json}, each epoch an object with {@link EpochStatsCodec}'s fields, as a saved model's
 * {@code history/} has them);
 * {@code LATEST} names the newest complete one and is replaced atomically after it is written, so a run
 * killed at any moment leaves the previous checkpoint usable. A checkpoint is only resumed by a run with
 * the same fingerprint (network, classes, data layout and training settings).
 */
public final class CheckpointStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String dir;
    private final Configuration conf;
    private final String fingerprint;

    public CheckpointStore(String dir, Configuration conf, String fingerprint) {
        this.dir = dir.replaceAll("/+$", "");
        this.conf = conf;
        this.fingerprint = fingerprint;
    }

    public void save(TrainingState c) {
        String epochDir = dir + "/epoch-" + c.epochsDone();
        float[] empty = new float[0];
        HadoopFiles.writeArrays(epochDir + "/state.bin", conf, toDouble(c.params()),
                toDouble(c.updaterState() == null ? empty : c.updaterState()),
                toDouble(c.velocity() == null ? empty : c.velocity()),
                new double[]{c.epochsDone(), c.iteration(), c.bestEpoch()},
                toDouble(c.bestParams() == null ? empty : c.bestParams()));
        ObjectNode o = JSON.createObjectNode();
        o.put("fingerprint", fingerprint);
        o.put("epochsDone", c.epochsDone());
        o.set("history", EpochStatsCodec.toJson(c.history()));
        HadoopFiles.writeString(epochDir + "/state.json", o.toString(), conf);
        HadoopFiles.writeStringAtomically(dir + "/LATEST", "epoch-" + c.epochsDone() + "\n", conf);
        for (int e = 1; e < c.epochsDone(); e++) {
            if (HadoopFiles.exists(dir + "/epoch-" + e, conf)) {
                HadoopFiles.deleteRecursively(dir + "/epoch-" + e, conf);
            }
        }
    }

    /** The newest checkpoint with this store's fingerprint, or null. */
    public TrainingState load() {
        if (!HadoopFiles.exists(dir + "/LATEST", conf)) {
            return null;
        }
        String epochDir = dir + "/" + HadoopFiles.readString(dir + "/LATEST", conf).trim();
        JsonNode o;
        try {
            o = JSON.readTree(HadoopFiles.readString(epochDir + "/state.json", conf));
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
        if (!fingerprint.equals(o.path("fingerprint").asText())) {
            return null;
        }
        String file = epochDir + "/state.bin";
        double[][] a = HadoopFiles.readArrays(file, conf);
        HadoopFiles.require((a.length == 4 || a.length == 5) && a[0].length > 0 && a[3].length >= 2
                && (a[2].length == 0 || a[2].length == a[0].length)
                && (a.length == 4 || a[4].length == 0 || a[4].length == a[0].length), file,
                "weights, updater state, velocity, [epochs, iteration(, best epoch)] and best weights");
        List<EpochStats> history = new ArrayList<>();
        for (JsonNode e : o.path("history")) {
            history.add(EpochStatsCodec.fromJson(e, epochDir + "/state.json"));
        }
        // checkpoints written before early stopping existed hold four arrays
        int bestEpoch = a[3].length > 2 ? (int) a[3][2] : 0;
        float[] bestParams = a.length > 4 && a[4].length > 0 ? toFloat(a[4]) : null;
        return new TrainingState((int) a[3][0], (int) a[3][1], toFloat(a[0]),
                a[1].length == 0 ? null : toFloat(a[1]), a[2].length == 0 ? null : toFloat(a[2]), history,
                bestEpoch, bestParams);
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
