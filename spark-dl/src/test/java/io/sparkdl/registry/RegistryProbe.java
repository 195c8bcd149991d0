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
}
