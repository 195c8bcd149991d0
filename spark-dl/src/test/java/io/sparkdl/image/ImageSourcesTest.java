package io.sparkdl.image;

import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.sparkdl.image.ImageCodecTest.encode;
import static io.sparkdl.image.ImageCodecTest.rgb;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Folder listing at the edges: symbolic links, cycles, odd names and special files. */
class ImageSourcesTest {
    @TempDir
    Path tmp;

    @Test
    void symlinkLoopsAndOddNamesNeitherMultiplyNorRelabelNorAbort() throws Exception {
        Path data = tmp.resolve("data");
        Path outside = tmp.resolve("outside");
        Files.createDirectories(data.resolve("bag"));
        Files.createDirectories(data.resolve("coat"));
        Files.createDirectories(outside);
        byte[] png = encode(rgb(8, 8, Color.RED), "png");
        Files.write(data.resolve("bag/a.png"), png);
        Files.write(data.resolve("coat/b.png"), png);
        Files.write(data.resolve("bag/colon:x.png"), png);
        Files.write(data.resolve("bag/new\nline.png"), png);
        Files.write(data.resolve("bag/100% sure #1?.png"), png);
        Files.write(outside.resolve("c.png"), png);
        // a cycle (the folder's parent), a second name for another class, a link out of the tree, twice
        Files.createSymbolicLink(data.resolve("bag/loop"), Path.of(".."));
        Files.createSymbolicLink(data.resolve("bag/coats"), Path.of("../coat"));
        Files.createSymbolicLink(data.resolve("coat/ext"), outside);
        Files.createSymbolicLink(data.resolve("coat/ext2"), outside);
        Files.createSymbolicLink(data.resolve("coat/broken.png"), tmp.resolve("nowhere.png"));
        Path fifo = data.resolve("coat/pipe.png");
        boolean haveFifo = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;

        List<Row> rows = new ImageDecoder().setSize(8, 8).setChannels(3)
                .transform(ImageSources.readFolder(SparkTest.spark(), data.toString()))
                .select(col("path"), col("label"), col("decodeError")).collectAsList();
        Map<String, Row> byName = new HashMap<>();
        for (Row r : rows) {
            String p = r.getString(0);
            assertNull(byName.put(p.substring(p.indexOf("/data/") + 6), r), "listed once: " + p);
        }
        List<String> good = List.of("bag/a.png", "coat/b.png", "bag/colon:x.png", "bag/new\nline.png",
                "bag/100% sure #1?.png", "coat/ext/c.png");
        for (String name : good) {
            Row r = byName.get(name);
            assertNotNull(r, name + " is read; rows: " + byName.keySet());
            assertEquals(name.substring(0, name.indexOf('/')), r.getString(1), name);
            assertNull(r.get(2), name + " decodes");
        }
        assertTrue(byName.containsKey("coat/broken.png") && byName.get("coat/broken.png").getString(2) != null,
                "a broken link is a bad file with its reason");
        int expected = good.size() + 1;
        if (haveFifo) {
            assertNotNull(byName.get("coat/pipe.png").getString(2), "a fifo is a bad file, never read (it would block)");
            expected++;
        }
        assertEquals(expected, rows.size(), "nothing reached through the loop, the second name or the second link: "
                + byName.keySet());
    }
}
