package io.sparkdl.registry;

import org.apache.hadoop.conf.Configuration;

/**
 * What a reader without the registry's lock sees (a serving job that loads the champion): whether a version's
 * manifest verifies, checksums included. For tests in other packages; it changes nothing in the registry.
 */
public final class RegistryProbe {
    private RegistryProbe() {
    }

    /** Why {@code root/versions/id} is not a valid version, or null when its manifest and checksums verify. */
    public static String problem(String root, String id, Configuration conf) {
        return VersionManifest.problem(root + "/versions/" + id, conf, true);
    }

    /** {@link #problem(String, String, Configuration)}, checking only names and sizes unless {@code checksums}. */
    public static String problem(String root, String id, Configuration conf, boolean checksums) {
        return VersionManifest.problem(root + "/versions/" + id, conf, checksums);
    }

    /**
     * Runs {@code hook} in every Hadoop create of a registry lock, after the existence check and before the write
     * (the PUT on S3A); null removes it. Two runs that wait for each other there both find the lock absent.
     */
    public static void beforeLockWrite(Runnable hook) {
        RegistryLock.beforeCreateCloses = hook;
    }
}
