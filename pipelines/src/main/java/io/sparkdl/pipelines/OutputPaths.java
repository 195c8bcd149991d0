package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.io.HadoopFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The rules for what a command writes, checked before any work: a command never deletes or replaces anything
 * it did not write.
 * <ul>
 *   <li>An output equal to, inside, or containing an input (or another output) is refused.</li>
 *   <li>An output path that exists (other than an empty folder) needs {@code --overwrite}, and even then only
 *       a spark-dl output of the same kind is replaced: one marked by {@value #MARKER} (a folder), a spark-dl
 *       metrics file or explain PNG (a file), or a model saved by the library ({@code metadata/} of a spark-dl
 *       stage or a PipelineModel).</li>
 *   <li>Outputs are written next to the target under a hidden temporary name and then swapped in by renames:
 *       a failed or killed run leaves the old output as it was (atomic on local disks and HDFS, where a rename
 *       is; on object stores a rename is a copy and the swap is not atomic).</li>
 * </ul>
 * The library's own {@code write().save()} keeps Spark's semantics; this is about the jobs.
 */
final class OutputPaths {
    /** A small file in every folder a command writes; '_' makes Spark's readers skip it. */
    static final String MARKER = "_SPARK_DL_OUTPUT";
    /** Field of the metrics JSON naming its writer, so a later run may replace it with --overwrite. */
    static final String METRICS_MARK = "writtenBy";
    /** tEXt keyword of the PNGs {@code explain} writes. */
    static final String PNG_MARK = "spark-dl explain";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What an output holds; a path is only ever replaced by an output of the same kind. */
    enum Kind {
        MODEL("a saved model", true), PREDICTIONS("predictions", true), CLUSTERS("cluster assignments", true),
        REPORT("a report", true), IMAGES("exported images", true), METRICS("a metrics JSON file", false),
        PNG("a saliency PNG", false),
        /** Checked for overlap with the inputs only: the registry manages its own contents. */
        REGISTRY("a model registry", true);

        final String what;
        final boolean folder;

        Kind(String what, boolean folder) {
            this.what = what;
            this.folder = folder;
        }
    }

    private record Named(String option, String path, Kind kind) {
    }

    private final Configuration conf;
    private final boolean overwrite;
    private final String command;
    private final List<Named> inputs = new ArrayList<>();
    private final List<Named> outputs = new ArrayList<>();

    OutputPaths(String command, boolean overwrite, Configuration conf) {
        this.command = command;
        this.overwrite = overwrite;
        this.conf = conf;
    }

    /** An input the outputs must stay clear of (null: not given). */
    OutputPaths input(String option, String path) {
        if (path != null) {
            inputs.add(new Named(option, path, null));
        }
        return this;
    }

    /** An output to check (null: not given). */
    OutputPaths output(String option, String path, Kind kind) {
        if (path != null) {
            outputs.add(new Named(option, path, kind));
        }
        return this;
    }

    /** Checks every rule; throws a usage error naming the option and path. Call before any work. */
    OutputPaths check() {
        for (int i = 0; i < outputs.size(); i++) {
            Named out = outputs.get(i);
            String o = canonical(out.path);
            for (Named in : inputs) {
                overlap(out, o, in, canonical(in.path), "input");
            }
            for (int j = 0; j < i; j++) {
                overlap(out, o, outputs.get(j), canonical(outputs.get(j).path), "output");
            }
            if (out.kind != Kind.REGISTRY) {
                checkExisting(out);
            }
        }
        return this;
    }

    private static void overlap(Named out, String o, Named other, String p, String role) {
        String relation = o.equals(p) ? "is the same path as"
                : o.startsWith(p + "/") ? "is inside"
                : p.startsWith(o + "/") ? "contains" : null;
        if (relation != null) {
            throw new UsageException(out.option + " " + out.path + " " + relation + " the " + role + " "
                    + other.option + " " + other.path + (role.equals("input") ? "; writing there could destroy or "
                    + "mix with the input" : "") + ": choose a separate path");
        }
    }

    private void checkExisting(Named out) {
        Path p = new Path(out.path);
        try {
            FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) {
                return;
            }
            FileStatus st = fs.getFileStatus(p);
            if (st.isDirectory() != out.kind.folder) {
                throw new UsageException(out.option + " " + out.path + " is " + (st.isDirectory()
                        ? "a folder" : "a file") + "; it must name " + (out.kind.folder ? "a folder" : "a file")
                        + " to write " + out.kind.what + " to");
            }
            if (st.isDirectory() && fs.listStatus(p).length == 0) {
                return;
            }
            if (!overwrite) {
                throw new UsageException(out.option + " " + out.path + " already exists; pass --overwrite to "
                        + "replace " + out.kind.what + " that spark-dl wrote there (nothing else is ever replaced)");
            }
            String kind = writtenKind(fs, p, st);
            if (kind == null || !kind.equals(out.kind.name())) {
                throw new UsageException(out.option + " " + out.path + " holds " + (kind == null
                        ? "files spark-dl did not write" : Kind.valueOf(kind).what + ", not " + out.kind.what)
                        + ": not replacing it, even with --overwrite; choose another path");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot check " + out.option + " " + out.path, e);
        }
    }

    /** The kind of spark-dl output at p, or null when spark-dl did not write it. */
    private static String writtenKind(FileSystem fs, Path p, FileStatus st) throws IOException {
        if (st.isDirectory()) {
            Path marker = new Path(p, MARKER);
            if (fs.exists(marker)) {
                JsonNode m = readJson(fs, marker, 4096);
                return m == null ? null : m.path("kind").asText(null);
            }
            // a model saved by the library (write().save()) or by an earlier release: Spark ML metadata of a
            // spark-dl stage or a PipelineModel, and nothing but the folders Spark ML writes
            Path meta = new Path(p, "metadata/part-00000");
            if (fs.exists(meta)) {
                JsonNode m = readJson(fs, meta, 1 << 20);
                String cls = m == null ? "" : m.path("class").asText("");
                boolean ours = cls.startsWith("io.sparkdl.") || cls.equals("org.apache.spark.ml.PipelineModel");
                for (FileStatus c : fs.listStatus(p)) {
                    String n = c.getPath().getName();
                    ours &= List.of("metadata", "network", "data", "stages", "members").contains(n)
                            || n.startsWith(".") || n.startsWith("_");
                }
                return ours ? Kind.MODEL.name() : null;
            }
            return null;
        }
        if (p.getName().toLowerCase().endsWith(".png")) {
            byte[] head = read(fs, p, 4096);
            String text = new String(head, StandardCharsets.ISO_8859_1);
            return text.contains("tEXt") && text.contains(PNG_MARK) ? Kind.PNG.name() : null;
        }
        JsonNode m = readJson(fs, p, 64 << 20);
        return m != null && m.path(METRICS_MARK).asText("").startsWith("spark-dl") ? Kind.METRICS.name() : null;
    }

    private static JsonNode readJson(FileSystem fs, Path p, int limit) {
        try {
            return JSON.readTree(read(fs, p, limit));
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] read(FileSystem fs, Path p, int limit) throws IOException {
        try (var in = fs.open(p)) {
            return in.readNBytes(limit);
        }
    }

    /** The path with symbolic links resolved (local) or fully qualified (elsewhere), for comparing. */
    private String canonical(String path) {
        try {
            Path p = new Path(path);
            Path q = p.getFileSystem(conf).makeQualified(p);
            if ("file".equals(q.toUri().getScheme())) {
                java.nio.file.Path f = java.nio.file.Paths.get(q.toUri()).normalize();
                java.nio.file.Path existing = f;
                while (existing != null && !java.nio.file.Files.exists(existing)) {
                    existing = existing.getParent();
                }
                java.nio.file.Path real = existing == null ? f : existing.toRealPath().resolve(existing.relativize(f));
                return "file:" + real.normalize().toString().replaceAll("/+$", "");
            }
            return q.toString().replaceAll("/+$", "");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot resolve " + path, e);
        }
    }

    @FunctionalInterface
    interface Writer {
        void write(String tmpPath) throws IOException;
    }

    /**
     * Writes an output checked by {@link #check}: {@code writer} fills a hidden temporary path beside the
     * target, a folder gets the marker, and the result is renamed into place; an old output there is moved
     * aside first and deleted last. A failure removes the temporary path and leaves the old output.
     */
    void write(String path, Kind kind, Writer writer) {
        Path target = new Path(path);
        try {
            FileSystem fs = target.getFileSystem(conf);
            Path parent = fs.makeQualified(target).getParent();
            fs.mkdirs(parent);
            String id = UUID.randomUUID().toString().substring(0, 8);
            Path tmp = new Path(parent, "." + target.getName() + ".spark-dl-tmp-" + id);
            try {
                writer.write(tmp.toString());
                if (kind.folder) {
                    HadoopFiles.writeString(new Path(tmp, MARKER).toString(), JSON.createObjectNode()
                            .put("kind", kind.name()).put("command", command).put("written", Instant.now().toString())
                            .toPrettyString(), conf);
                }
                Path old = null;
                if (fs.exists(target)) {
                    old = new Path(parent, "." + target.getName() + ".spark-dl-old-" + id);
                    rename(fs, target, old);
                }
                try {
                    rename(fs, tmp, target);
                } catch (IOException e) {
                    if (old != null) {
                        rename(fs, old, target);
                    }
                    throw e;
                }
                if (old != null) {
                    fs.delete(old, true);
                }
            } finally {
                if (fs.exists(tmp)) {
                    fs.delete(tmp, true);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + path, e);
        }
    }

    /** {@link #write} of one file's bytes. */
    void writeBytes(String path, Kind kind, byte[] bytes) {
        write(path, kind, tmp -> {
            Path t = new Path(tmp);
            try (var out = t.getFileSystem(conf).create(t, false)) {
                out.write(bytes);
            }
        });
    }

    private static void rename(FileSystem fs, Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("Cannot rename " + from + " to " + to);
        }
    }
}
