package io.sparkdl.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdl.io.HadoopFiles;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * A versioned model registry in a folder (local path or any Hadoop FileSystem URI):
 * <pre>
 * registry/versions/&lt;id&gt;/   model/, metrics.json, report/   (complete when it exists: built under a
 *                                                              temporary name, then renamed)
 * registry/state.json          {"watermark", "champion", "lastVersion", "inProgress"}  the commit point
 * registry/CHAMPION            the champion's version id, one line
 * registry/work/&lt;id&gt;/        checkpoints of a run in progress
 * </pre>
 * Every change of state.json and CHAMPION is a write to a temporary file and an atomic rename, and
 * state.json (watermark and champion together) is only committed after the version folder is complete.
 * CHAMPION follows state.json; a run killed between the two leaves the old champion in CHAMPION, and the
 * next {@link #open} repairs it. So at any moment CHAMPION names a complete version (or is absent before
 * the first promotion), and the watermark never runs ahead of a written version.
 */
public final class ModelRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final String root;
    private final Configuration conf;
    private ObjectNode state;

    private ModelRegistry(String root, Configuration conf) {
        this.root = root.replaceAll("/+$", "");
        this.conf = conf;
    }

    /**
     * Opens (or starts) the registry at {@code root}, repairs a CHAMPION file left behind by a crash and removes
     * temporary files of interrupted writes. The caller holds the registry's {@link RegistryLock}.
     */
    public static ModelRegistry open(String root, Configuration conf) {
        ModelRegistry r = new ModelRegistry(root, conf);
        r.state = r.readState();
        String wm = r.watermark();
        if (wm != null) {
            try {
                date(wm);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("Registry state " + r.root + "/state.json has the watermark '" + wm
                        + "', which is not a date (written by an earlier release that accepted impossible partition "
                        + "dates): set \"watermark\" to the newest real date already trained on");
            }
        }
        for (String n : HadoopFiles.list(r.root, conf)) {
            if (n.matches("\\.?(state\\.json|CHAMPION)\\.tmp-.*")) {
                HadoopFiles.deleteRecursively(r.root + "/" + n, conf);
            }
        }
        String champion = r.champion();
        if (champion != null) {
            String file = HadoopFiles.exists(r.root + "/CHAMPION", conf)
                    ? HadoopFiles.readString(r.root + "/CHAMPION", conf).trim() : null;
            if (!champion.equals(file)) {
                HadoopFiles.writeStringAtomically(r.root + "/CHAMPION", champion + "\n", conf);
            }
        }
        return r;
    }

    private ObjectNode readState() {
        String p = root + "/state.json";
        if (!HadoopFiles.exists(p, conf)) {
            return JSON.createObjectNode();
        }
        try {
            return (ObjectNode) JSON.readTree(HadoopFiles.readString(p, conf));
        } catch (IOException e) {
            throw new UncheckedIOException("Corrupt registry state " + p + " (it is only ever replaced atomically; "
                    + "was it edited by hand?)", e);
        }
    }

    public String root() {
        return root;
    }

    /** The newest ingest date whose data a committed version has used, or null before the first run. */
    public String watermark() {
        return text(state, "watermark");
    }

    /** The champion's version id, or null. */
    public String champion() {
        return text(state, "champion");
    }

    public String lastVersion() {
        return text(state, "lastVersion");
    }

    /** The run that was started and not committed: its version id and the data it was training on. */
    public JsonNode inProgress() {
        JsonNode n = state.get("inProgress");
        return n == null || n.isNull() ? null : n;
    }

    public String versionDir(String id) {
        return root + "/versions/" + id;
    }

    public String workDir(String id) {
        return root + "/work/" + id;
    }

    public boolean versionComplete(String id) {
        return HadoopFiles.exists(versionDir(id) + "/metrics.json", conf);
    }

    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("uuuu-MM-dd")
            .withResolverStyle(java.time.format.ResolverStyle.STRICT);

    /**
     * A partition date {@code YYYY-MM-DD} that exists on the calendar ({@code 2024-13-45} and {@code 2023-02-29}
     * do not); throws IllegalArgumentException otherwise.
     */
    public static java.time.LocalDate date(String value) {
        try {
            return java.time.LocalDate.parse(value, DAY);
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("'" + value + "' is not a date YYYY-MM-DD");
        }
    }

    /** A new version id: the UTC time, sortable. */
    public static String newVersionId(Instant now) {
        return "v" + ID.format(now);
    }

    /** Records a run in progress (so that a re-run after a crash continues it). */
    public void begin(ObjectNode run) {
        ObjectNode next = state.deepCopy();
        next.set("inProgress", run);
        commitState(next);
    }

    /**
     * The commit: the version folder must be complete. Moves the watermark and, when {@code promote},
     * the champion, in one atomic write of state.json; then points CHAMPION at the champion.
     */
    public void commit(String versionId, String watermark, boolean promote, Runnable beforeChampionFile) {
        if (!versionComplete(versionId)) {
            throw new IllegalStateException("version " + versionId + " is not complete; refusing to commit it");
        }
        date(watermark);   // the watermark only ever moves to a real date
        ObjectNode next = state.deepCopy();
        next.put("watermark", watermark);
        next.put("lastVersion", versionId);
        if (promote) {
            next.put("champion", versionId);
        }
        next.putNull("inProgress");
        next.put("updated", Instant.now().toString());
        commitState(next);
        if (beforeChampionFile != null) {
            beforeChampionFile.run();
        }
        if (champion() != null) {
            HadoopFiles.writeStringAtomically(root + "/CHAMPION", champion() + "\n", conf);
        }
        if (HadoopFiles.exists(workDir(versionId), conf)) {
            HadoopFiles.deleteRecursively(workDir(versionId), conf);
        }
        if (HadoopFiles.exists(root + "/work", conf) && HadoopFiles.list(root + "/work", conf).isEmpty()) {
            HadoopFiles.deleteRecursively(root + "/work", conf);
        }
    }

    private void commitState(ObjectNode next) {
        HadoopFiles.writeStringAtomically(root + "/state.json", next.toPrettyString(), conf);
        state = next;
    }

    /**
     * Publishes a version folder built at {@code tmpDir} under {@code versions/<id>} by one rename. A version
     * that is already complete (a crash after this step) is kept as it is.
     */
    public void publishVersion(String id, String tmpDir) {
        if (versionComplete(id)) {
            HadoopFiles.deleteRecursively(tmpDir, conf);
            return;
        }
        if (HadoopFiles.exists(versionDir(id), conf)) {
            HadoopFiles.deleteRecursively(versionDir(id), conf);
        }
        HadoopFiles.mkdirs(root + "/versions", conf);
        HadoopFiles.replace(tmpDir, versionDir(id), conf);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
