package io.sparkdl.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code MANIFEST.json} of a registry version: every file of the version with its size and SHA-256, written
 * last, in one object. A version is valid only while its manifest verifies, so a version copied file by file
 * (a rename on an object store) or cut short by a crash is never taken for complete. Hidden files (Hadoop's
 * {@code .crc} checksums) are not part of a version.
 */
final class VersionManifest {
    static final String NAME = "MANIFEST.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A manifest larger than this is not one spark-dl wrote. */
    private static final int MAX_BYTES = 16 << 20;

    private VersionManifest() {
    }

    /** The manifest of the files now under {@code dir}. */
    static String build(String id, String dir, Configuration conf) {
        ObjectNode m = JSON.createObjectNode();
        m.put("version", id);
        m.put("created", java.time.Instant.now().toString());
        ArrayNode files = m.putArray("files");
        try {
            for (Map.Entry<String, Long> f : files(dir, conf).entrySet()) {
                files.addObject().put("path", f.getKey()).put("size", f.getValue())
                        .put("sha256", sha256(new Path(dir, f.getKey()), conf));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list version " + dir, e);
        }
        return m.toPrettyString();
    }

    /**
     * Why the version at {@code dir} is not valid, or null when it is: its manifest is present, names exactly
     * the files there with their sizes and, when {@code checksums}, their SHA-256.
     */
    static String problem(String dir, Configuration conf, boolean checksums) {
        Path manifest = new Path(dir, NAME);
        try {
            FileSystem fs = manifest.getFileSystem(conf);
            if (!fs.exists(manifest)) {
                return "no " + NAME + " (incomplete: written by a run that stopped, or still being written)";
            }
            if (fs.getFileStatus(manifest).getLen() > MAX_BYTES) {
                return NAME + " is larger than " + MAX_BYTES + " bytes";
            }
            JsonNode m;
            try (FSDataInputStream in = fs.open(manifest)) {
                m = JSON.readTree(in.readNBytes(MAX_BYTES));
            } catch (IOException e) {
                return NAME + " is not valid JSON";
            }
            Map<String, Long> present = files(dir, conf);
            JsonNode listed = m.path("files");
            if (!listed.isArray() || listed.size() != present.size()) {
                return NAME + " lists " + listed.size() + " files but " + present.size() + " are there";
            }
            for (JsonNode f : listed) {
                String rel = f.path("path").asText("");
                Long size = present.get(rel);
                if (size == null || size != f.path("size").asLong(-1)) {
                    return rel + (size == null ? " is missing" : " has " + size + " bytes, not "
                            + f.path("size").asLong(-1));
                }
                if (checksums && !matches(new Path(dir, rel), f.path("sha256").asText(), conf)) {
                    return rel + " does not match its checksum";
                }
            }
            return null;
        } catch (IOException e) {
            return "cannot be read (" + e.getMessage() + ")";
        }
    }

    /** Relative path -> size of every file under dir, hidden ones and the manifest excepted. */
    private static Map<String, Long> files(String dir, Configuration conf) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(conf);
        String prefix = fs.makeQualified(root).toUri().getPath().replaceAll("/+$", "") + "/";
        Map<String, Long> out = new TreeMap<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        while (it.hasNext()) {
            LocatedFileStatus st = it.next();
            String rel = st.getPath().toUri().getPath().substring(prefix.length());
            boolean hidden = false;
            for (String part : rel.split("/")) {
                hidden |= part.startsWith(".");
            }
            if (!hidden && !rel.equals(NAME)) {
                out.put(rel, st.getLen());
            }
        }
        return out;
    }

    /** The file's SHA-256 equals {@code expected}; a file system checksum error (HDFS, Hadoop's .crc) is a no. */
    private static boolean matches(Path p, String expected, Configuration conf) throws IOException {
        try {
            return sha256(p, conf).equals(expected);
        } catch (org.apache.hadoop.fs.ChecksumException e) {
            return false;
        }
    }

    private static String sha256(Path p, Configuration conf) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[1 << 16];
        try (FSDataInputStream in = p.getFileSystem(conf).open(p)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
