package io.sparkdl.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Edits a saved stage's metadata/ as an earlier release would have written it. */
public final class SavedMetadata {
    private SavedMetadata() {
    }

    /** Replaces names in a saved stage's metadata JSON (as an earlier release wrote it), dropping Hadoop's checksum. */
    public static void rewrite(Path metadata, String... fromTo) throws Exception {
        int rewritten = 0;
        try (Stream<Path> files = Files.list(metadata)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.endsWith(".crc")) {
                    Files.delete(f);
                } else if (name.startsWith("part-")) {
                    String json = Files.readString(f);
                    for (int i = 0; i < fromTo.length; i += 2) {
                        assertTrue(json.contains(fromTo[i]), fromTo[i] + " in " + json);
                        json = json.replace(fromTo[i], fromTo[i + 1]);
                    }
                    Files.writeString(f, json);
                    rewritten++;
                }
            }
        }
        assertEquals(1, rewritten);
    }
}
