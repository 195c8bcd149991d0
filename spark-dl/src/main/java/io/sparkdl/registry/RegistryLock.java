package io.sparkdl.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.io.HadoopFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One writer per registry: a lease object {@code registry/LOCK} ({owner, host, pid, acquired, expires}),
 * created only if absent (O_EXCL on a local disk, HDFS's create without overwrite), renewed by a daemon thread
 * every third of the lease and deleted on {@link #close}. A run that crashed cannot hold it forever: the lease
 * expires, and on the same host a lock whose process is gone is taken over at once. Taking over renames the
 * stale object aside first, so of two runs that find it stale only one wins.
 *
 * <p>On object stores (S3A) a create without overwrite is a check followed by a PUT, not an atomic
 * create-if-absent: two runs that start within the same moment can both write it, and the later PUT wins. So
 * there a run that wrote the lock waits a settle interval ({@link #DEFAULT_SETTLE}) and reads it back: if it
 * names another owner, it gives up with {@link HeldException} before it reads or writes anything else. A write
 * that lands later still (a run paused between its check and its PUT for longer than the interval) is found by
 * {@link #assertHeld}, which reads the object back before the run publishes and again before it commits, and
 * also throws {@link HeldException}. Either way the loser ends as a run that found the registry locked; the
 * partial version folder of a loser caught late is removed by the next run.
 */
public final class RegistryLock implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryLock.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String NAME = "LOCK";
    /** Lease length; a system property so that tests and users with long GC pauses can change it. */
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(
            Long.getLong("spark-dl.registry.leaseSeconds", 600));
    /**
     * How long a run waits after writing the lock on a store without an atomic create-if-absent (S3A) before it
     * reads it back to see whether another run's write landed after its own: longer than the time between a
     * client's existence check and its PUT. A system property, {@code spark-dl.registry.settleMillis}.
     */
    public static final Duration DEFAULT_SETTLE = Duration.ofMillis(
            Long.getLong("spark-dl.registry.settleMillis", 2000));

    /** Test hook: runs between a Hadoop create of the lock and the close that writes it (the PUT on S3A). */
    static volatile Runnable beforeCreateCloses;

    /**
     * The registry is locked by another live run: found at the start, or found later by {@link #assertHeld}
     * (this run's lock was overwritten or taken over). Nothing was published or committed by this run; the
     * command line exits 75 on it.
     */
    public static final class HeldException extends IllegalStateException {
        HeldException(String message) {
            super(message);
        }
    }

    private final Path path;
    private final Configuration conf;
    private final String owner = UUID.randomUUID().toString();
    private final Duration lease;
    private final boolean exclusive;
    private final ScheduledExecutorService renewer;
    private volatile String lost;

    private RegistryLock(Path path, Configuration conf, Duration lease) {
        this.path = path;
        this.conf = conf;
        this.lease = lease;
        String scheme = path.toUri().getScheme();
        this.exclusive = scheme == null || scheme.equals("file") || scheme.equals("hdfs");
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "spark-dl registry lock " + path);
            t.setDaemon(true);
            return t;
        });
    }

    /** {@link #acquire(String, Configuration, Duration, Duration)} with {@link #DEFAULT_SETTLE}. */
    public static RegistryLock acquire(String root, Configuration conf, Duration lease) {
        return acquire(root, conf, lease, DEFAULT_SETTLE);
    }

    /**
     * Takes the lock of the registry at {@code root}, or throws {@link HeldException} naming its holder. On a store
     * whose create without overwrite is not exclusive (anything but a local disk or HDFS), the lock is read back
     * after {@code settle} and given up if another run's write replaced it.
     */
    public static RegistryLock acquire(String root, Configuration conf, Duration lease, Duration settle) {
        if (lease == null || lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("the registry lock's lease (spark-dl.registry.leaseSeconds) must be "
                    + "positive, got " + lease);
        }
        if (settle == null || settle.isNegative()) {
            throw new IllegalArgumentException("the registry lock's settle interval (spark-dl.registry.settleMillis) "
                    + "must be >= 0, got " + settle);
        }
        Path p = new Path(root.replaceAll("/+$", "") + "/" + NAME);
        RegistryLock lock = new RegistryLock(p, conf, lease);
        HadoopFiles.mkdirs(root, conf);
        for (int attempt = 0; attempt < 2; attempt++) {
            if (lock.create()) {
                if (!lock.exclusive) {
                    lock.settle(root, settle);
                }
                long every = Math.max(1, lease.toMillis() / 3);
                lock.renewer.scheduleAtFixedRate(lock::renew, every, every, TimeUnit.MILLISECONDS);
                return lock;
            }
            JsonNode held = lock.read();
            String stale = stale(held, lock.modified(), lease);
            if (stale == null) {
                throw new HeldException("the registry " + root + " is locked by another retrain run ("
                        + describe(held) + "); not starting a second one");
            }
            LOG.warn("Registry lock {}: taking over from {} ({})", p, describe(held), stale);
            lock.breakStale();
        }
        throw new HeldException("the registry " + root + " is locked by another retrain run that took over a stale "
                + "lock at the same moment; not starting a second one");
    }

    /**
     * After a non-exclusive create: waits {@code settle}, reads the lock back and throws {@link HeldException} if
     * another run's write landed after this one's (both found it absent). The winner's object is left in place.
     */
    private void settle(String root, Duration settle) {
        sleep(settle.toMillis());
        JsonNode now = read();
        for (int retry = 0; now == null && retry < 3; retry++) {
            sleep(200);
            now = read();
        }
        if (now == null || !owner.equals(now.path("owner").asText())) {
            renewer.shutdownNow();
            throw new HeldException("the registry " + root + " is locked by another retrain run that took the lock "
                    + "at the same moment (" + describe(now) + "); not starting a second one");
        }
    }

    /**
     * Throws {@link HeldException} when the lock is no longer this run's: the lease was lost (another run took it
     * over after it expired), or the lock object now names another owner. The object is read back from the
     * store on every call, so a run whose lock was overwritten (on an object store, where two runs starting at the
     * same moment can both create it and the later write wins) finds out here, before it publishes or commits.
     */
    public void assertHeld() {
        if (lost == null) {
            JsonNode now = read();
            for (int retry = 0; now == null && retry < 3; retry++) { // unreadable for a moment: read again
                sleep(200);
                now = read();
            }
            if (now == null || !owner.equals(now.path("owner").asText())) {
                lost = now == null ? "the lock object is gone or unreadable"
                        : "the lock object now names another run (" + describe(now) + ")";
            }
        }
        if (lost != null) {
            throw new HeldException("lost the registry lock " + path + ": " + lost
                    + "; stopping before publishing or committing anything");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        renewer.shutdownNow();
        JsonNode now = read();
        if (now != null && owner.equals(now.path("owner").asText())) {
            HadoopFiles.deleteRecursively(path.toString(), conf);
            HadoopFiles.deleteRecursively(crc(path).toString(), conf);
        }
    }

    private byte[] content() {
        Instant now = Instant.now();
        return JSON.createObjectNode().put("owner", owner).put("host", host()).put("pid", ProcessHandle.current().pid())
                .put("acquired", now.toString()).put("expires", now.plus(lease).toString())
                .toPrettyString().getBytes(StandardCharsets.UTF_8);
    }

    private boolean create() {
        byte[] bytes = content();
        try {
            if (local()) {
                Files.write(new java.io.File(path.toUri().getPath()).toPath(), bytes, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                return true;
            }
            FileSystem fs = path.getFileSystem(conf);
            try (FSDataOutputStream out = fs.create(path, false)) {
                out.write(bytes);
                Runnable hook = beforeCreateCloses;
                if (hook != null) {
                    hook.run();
                }
            }
            return true;
        } catch (FileAlreadyExistsException | org.apache.hadoop.fs.FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            if (HadoopFiles.exists(path.toString(), conf)) {
                return false;
            }
            throw new UncheckedIOException("Cannot create the registry lock " + path, e);
        }
    }

    private void renew() {
        try {
            JsonNode now = read();
            if (now == null || !owner.equals(now.path("owner").asText())) {
                lost = "another run holds it now (" + describe(now) + ")";
                // reported once, by assertHeld, as the run's one line
                LOG.debug("Registry lock {}: {}", path, lost);
                renewer.shutdown();
                return;
            }
            HadoopFiles.writeStringAtomically(path.toString(), new String(content(), StandardCharsets.UTF_8), conf);
        } catch (RuntimeException e) {
            LOG.warn("Registry lock {}: renewal failed ({}); retrying", path, e.toString());
        }
    }

    /** Renames the stale lock aside (one of two racing runs succeeds), then deletes it. */
    private void breakStale() {
        Path aside = new Path(path.getParent(), NAME + ".stale-" + UUID.randomUUID());
        try {
            FileSystem fs = path.getFileSystem(conf);
            if (fs.rename(path, aside)) {
                fs.delete(aside, false);
                fs.delete(crc(path), false);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot take over the stale registry lock " + path, e);
        }
    }

    /** Why a lock is stale, or null when it is live. */
    static String stale(JsonNode held, Instant modified, Duration lease) {
        if (held == null) {
            // unreadable or empty (being written): live unless it is older than a lease
            return modified != null && modified.plus(lease).isBefore(Instant.now())
                    ? "unreadable and older than the lease" : null;
        }
        Instant expires;
        try {
            expires = Instant.parse(held.path("expires").asText());
        } catch (RuntimeException e) {
            return "unreadable expiry";
        }
        if (expires.isBefore(Instant.now())) {
            return "its lease expired at " + expires;
        }
        if (host().equals(held.path("host").asText()) && held.has("pid")) {
            long pid = held.get("pid").asLong();
            Instant acquired = Instant.parse(held.path("acquired").asText(Instant.EPOCH.toString()));
            boolean alive = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .flatMap(ph -> ph.info().startInstant())
                    .map(start -> !start.isAfter(acquired.plusSeconds(1)))
                    .orElse(false);
            if (!alive) {
                return "its process " + pid + " on this host is gone";
            }
        }
        return null;
    }

    private JsonNode read() {
        try {
            if (!HadoopFiles.exists(path.toString(), conf)) {
                return null;
            }
            JsonNode node = JSON.readTree(HadoopFiles.readString(path.toString(), conf));
            // empty (still being written: Jackson gives a MissingNode) or not an object: unreadable, not stale
            return node != null && node.isObject() ? node : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private Instant modified() {
        try {
            return Instant.ofEpochMilli(path.getFileSystem(conf).getFileStatus(path).getModificationTime());
        } catch (IOException e) {
            return null;
        }
    }

    private boolean local() {
        String scheme = path.toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    private static Path crc(Path p) {
        return new Path(p.getParent(), "." + p.getName() + ".crc");
    }

    private static String describe(JsonNode held) {
        if (held == null) {
            return "holder unknown: the lock is being written or unreadable";
        }
        return "run " + held.path("owner").asText("?") + " on " + held.path("host").asText("?") + ", pid "
                + held.path("pid").asText("?") + ", since " + held.path("acquired").asText("?") + ", lease until "
                + held.path("expires").asText("?");
    }

    private static String host() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isEmpty()) {
            try {
                h = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                h = "unknown";
            }
        }
        return h;
    }
}
