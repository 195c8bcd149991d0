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
 * registry/versions/&lt;id&gt;/   model/, metrics.json, report/, MANIFEST.json (written last: every file with
 *                              its size and SHA-256; the version is valid only while it verifies)
 * registry/state.json          {"watermark", "champion", "lastVersion", "inProgress"}  the commit point
 * registry/CHAMPION            the champion's version id, one line
 * registry/LOCK                the {@link RegistryLock} of the run that writes
 * registry/work/&lt;id&gt;/        checkpoints of a run in progress (removed by {@link #open} once no run continues it)
 * </pre>
 * A version is written in place under its own id and becomes valid through its manifest, never through a
 * rename (a directory rename is a file-by-file copy on object stores). state.json (watermark and champion
 * together) is only committed after the version verifies, and state.json and CHAMPION are each one small
 * object: replaced by a rename on local disks and HDFS, written in one PUT on object stores (atomic there),
 * never deleted first. CHAMPION follows state.json; a run killed between the two leaves the old champion in
 * CHAMPION, and the next {@link #open} repairs it. So at any moment CHAMPION names a valid version (or is
 * absent before the first promotion), and the watermark never runs ahead of a written version. A registry
 * whose state is missing or unreadable is rebuilt from the versions' manifests, never read as empty.
 */
public final class ModelRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ModelRegistry.class);
    private static final DateTimeFormatter ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final String root;
    private final Configuration conf;
    private ObjectNode state;
    private boolean repaired;
    /** 2: versions carry a manifest (the earlier release's versions were complete once metrics.json existed). */
    private static final int LAYOUT = 2;

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
        // a state without a layout was written by the earlier release, whose versions had no manifest
        boolean earlierLayout = !r.repaired && !r.state.isEmpty() && !r.state.has("layout");
        r.cleanVersions(earlierLayout);
        r.cleanWork();
        if (r.repaired || earlierLayout) {
            r.commitState(r.state);
        }
        String champ = r.champion();
        if (champ != null && !r.versionComplete(champ)) {
            throw new IllegalStateException("Registry " + r.root + ": the champion " + champ + " is not a valid "
                    + "version (" + VersionManifest.problem(r.versionDir(champ), conf, false) + "); restore it or "
                    + "point state.json at another version");
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
        if (HadoopFiles.exists(p, conf)) {
            try {
                return (ObjectNode) JSON.readTree(HadoopFiles.readString(p, conf));
            } catch (IOException | ClassCastException e) {
                LOG.warn("Registry state {} is unreadable ({}); rebuilding it from the versions' manifests", p,
                        e.getMessage());
                return repairedState();
            }
        }
        return HadoopFiles.list(root + "/versions", conf).isEmpty() ? JSON.createObjectNode() : repairedState();
    }

    /**
     * The state the valid versions imply: the watermark is the newest partition a version trained on, the
     * champion the newest version its run promoted, as the run that wrote it would have committed.
     */
    private ObjectNode repairedState() {
        ObjectNode st = JSON.createObjectNode();
        String watermark = null;
        for (String id : HadoopFiles.list(root + "/versions", conf)) {
            if (!versionComplete(id)) {
                continue;
            }
            JsonNode m;
            try {
                m = JSON.readTree(HadoopFiles.readString(versionDir(id) + "/metrics.json", conf));
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("Registry " + root + ": state.json is missing or unreadable and "
                        + "version " + id + "'s metrics.json cannot be read to rebuild it; restore state.json", e);
            }
            for (JsonNode d : m.path("partitions")) {
                if (watermark == null || d.asText().compareTo(watermark) > 0) {
                    watermark = d.asText();
                }
            }
            st.put("lastVersion", id);
            if (m.path("promoted").asBoolean(false)) {
                st.put("champion", id);
            }
        }
        if (watermark == null) {
            throw new IllegalStateException("Registry " + root + " has versions but no readable state.json and no "
                    + "valid version to rebuild it from; restore state.json or move the registry aside");
        }
        st.put("watermark", watermark);
        st.putNull("inProgress");
        st.put("repaired", Instant.now().toString());
        repaired = true;
        LOG.warn("Registry {}: state rebuilt from the manifests: watermark {}, champion {}, last version {}", root,
                watermark, text(st, "champion"), text(st, "lastVersion"));
        return st;
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

    /** True when the version's manifest is there and every file has its listed size. */
    public boolean versionComplete(String id) {
        return VersionManifest.problem(versionDir(id), conf, false) == null;
    }

    /**
     * Checks every file of a version against its manifest's checksums (before a model is trusted, e.g. for a
     * warm start) and returns the version's folder; throws naming the file that does not match.
     */
    public String verifiedVersion(String id) {
        String problem = VersionManifest.problem(versionDir(id), conf, true);
        if (problem != null) {
            throw new IllegalStateException("Registry version " + versionDir(id) + " is not valid: " + problem);
        }
        return versionDir(id);
    }

    /**
     * Removes what a stopped run left: version folders without a valid manifest (never promoted, never used),
     * and temporary folders of the earlier rename protocol. Versions of that protocol (complete once
     * metrics.json existed, published by an atomic rename on local disks and HDFS) get their manifest.
     */
    private void cleanVersions(boolean earlierLayout) {
        for (String id : HadoopFiles.list(root + "/versions", conf)) {
            String dir = versionDir(id);
            if (id.startsWith(".tmp-")) {
                HadoopFiles.deleteRecursively(dir, conf);
                continue;
            }
            String problem = VersionManifest.problem(dir, conf, false);
            if (problem == null) {
                continue;
            }
            if (earlierLayout && !HadoopFiles.exists(dir + "/" + VersionManifest.NAME, conf)
                    && HadoopFiles.exists(dir + "/metrics.json", conf) && HadoopFiles.exists(dir + "/model", conf)
                    && !objectStore(root)) {
                LOG.info("Registry {}: version {} of the earlier layout gets its manifest", root, id);
                String manifest = VersionManifest.build(id, dir, conf);
                HadoopFiles.writeStringAtomically(dir + "/" + VersionManifest.NAME, manifest, conf);
                continue;
            }
            LOG.warn("Registry {}: removing the incomplete version {} ({})", root, id, problem);
            HadoopFiles.deleteRecursively(dir, conf);
        }
    }

    /**
     * Removes the work folders (checkpoints) of runs that are not in progress: what a run killed between its
     * commit and its cleanup left, or a run that lost the lock. The interrupted run's own folder is kept.
     */
    private void cleanWork() {
        JsonNode pending = inProgress();
        String keep = pending == null ? null : pending.path("version").asText(null);
        String work = root + "/work";
        for (String id : HadoopFiles.list(work, conf)) {
            if (!id.equals(keep)) {
                LOG.info("Registry {}: removing the work folder of {}, which no run continues", root, id);
                HadoopFiles.deleteRecursively(work + "/" + id, conf);
            }
        }
        if (keep == null && HadoopFiles.exists(work, conf)) {
            HadoopFiles.deleteRecursively(work, conf);
        }
    }

    private static boolean objectStore(String path) {
        return HadoopFiles.isObjectStore(new org.apache.hadoop.fs.Path(path));
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
        next.put("layout", LAYOUT);
        HadoopFiles.writeStringAtomically(root + "/state.json", next.toPrettyString(), conf);
        state = next;
    }

    /**
     * The folder to write version {@code id} into, emptied of anything an interrupted attempt left; null when
     * the version is already published (a crash after {@link #publishVersion}): keep it as it is.
     */
    public String startVersion(String id) {
        if (versionComplete(id)) {
            return null;
        }
        if (HadoopFiles.exists(versionDir(id), conf)) {
            HadoopFiles.deleteRecursively(versionDir(id), conf);
        }
        HadoopFiles.mkdirs(versionDir(id), conf);
        return versionDir(id);
    }

    /** Makes the version written into {@link #startVersion}'s folder valid: its manifest, written last. */
    public void publishVersion(String id) {
        String manifest = VersionManifest.build(id, versionDir(id), conf);
        // never seen half-written: a rename on a local disk and HDFS, one PUT on object stores
        HadoopFiles.writeStringAtomically(versionDir(id) + "/" + VersionManifest.NAME, manifest, conf);
        if (!versionComplete(id)) {
            throw new IllegalStateException("version " + id + " changed while its manifest was written: "
                    + VersionManifest.problem(versionDir(id), conf, false));
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
