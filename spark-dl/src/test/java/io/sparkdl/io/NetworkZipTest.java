package io.sparkdl.io;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.testkit.Fuzzers;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Network zips load without Java deserialization, and tampered ones are refused with the file and entry named. */
class NetworkZipTest {
    private static final Configuration CONF = new Configuration();
    private static final NetworkSpec.Settings ADAM = new NetworkSpec.Settings("adam", 1e-3, 0.9, 0, 1);

    @TempDir
    Path tmp;

    @BeforeEach
    void resetMarker() {
        DeserializationMarker.ran = false;
    }

    /** A small conv net after one Adam step, so its updater state is not zero. */
    private static MultiLayerNetwork trainedNet(String arch) {
        MultiLayerNetwork net = new MultiLayerNetwork(NetworkSpec.parse(arch).toConfiguration(28, 28, 1, 3, ADAM));
        net.init();
        net.fit(Nd4j.rand(DataType.FLOAT, 4, 1, 28, 28), Nd4j.eye(3).getRows(0, 1, 2, 0).castTo(DataType.FLOAT));
        return net;
    }

    private static final String SMALL = """
            {"layers": [{"type": "conv", "filters": 3, "kernel": 3}, {"type": "maxpool"}, {"type": "output"}]}""";

    private static void assertSameNetwork(MultiLayerNetwork expected, MultiLayerNetwork actual) {
        assertEquals(expected.getLayerWiseConfigurations(), actual.getLayerWiseConfigurations());
        assertArrayEquals(expected.params().toFloatVector(), actual.params().toFloatVector(), 0f);
        assertArrayEquals(expected.getUpdater().getStateViewArray().toFloatVector(),
                actual.getUpdater().getStateViewArray().toFloatVector(), 0f);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 28, 28);
        assertEquals(expected.output(x), actual.output(x));
    }

    @Test
    void roundTripsAndReadsWhatModelSerializerWrote() throws IOException {
        for (String arch : new String[]{SMALL, "resnet"}) {
            MultiLayerNetwork net = trainedNet(arch);
            String ours = tmp.resolve("ours.zip").toString();
            NetworkZip.write(net, ours, CONF);
            assertSameNetwork(net, NetworkZip.read(ours, CONF));
            // models saved by earlier releases (ModelSerializer's writer) load, and DL4J reads ours
            File theirs = tmp.resolve("theirs.zip").toFile();
            ModelSerializer.writeModel(net, theirs, true);
            assertSameNetwork(net, NetworkZip.read(theirs.toString(), CONF));
            assertSameNetwork(net, ModelSerializer.restoreMultiLayerNetwork(new File(ours), true));
        }
    }

    private Map<String, byte[]> entries(String zip) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(Path.of(zip)))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                m.put(e.getName(), in.readAllBytes());
            }
        }
        return m;
    }

    private String zip(String name, Map<String, byte[]> entries) throws IOException {
        Path p = tmp.resolve(name);
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(p))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
            }
        }
        return p.toString();
    }

    private Map<String, byte[]> validEntries() throws IOException {
        String p = tmp.resolve("valid.zip").toString();
        NetworkZip.write(trainedNet(SMALL), p, CONF);
        return entries(p);
    }

    private static byte[] serializedMarker() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(b)) {
            o.writeObject(new DeserializationMarker());
        }
        return b.toByteArray();
    }

    private static ModelFileException refused(String path) {
        ModelFileException e = assertThrows(ModelFileException.class, () -> NetworkZip.read(path, CONF));
        assertTrue(e.getMessage().startsWith("Cannot load " + path), e.getMessage());
        return e;
    }

    @Test
    void serializedPreprocessorEntryIsRefusedAndNeverDeserialized() throws IOException {
        Map<String, byte[]> last = validEntries();
        last.put("preprocessor.bin", serializedMarker());
        String tampered = zip("tampered.zip", last);
        // the payload is live: DL4J's own loader runs its readObject
        assertThrows(RuntimeException.class, () -> ModelSerializer.restoreMultiLayerNetwork(new File(tampered), true));
        assertTrue(DeserializationMarker.ran, "ModelSerializer should have deserialized the marker");
        DeserializationMarker.ran = false;

        ModelFileException e = refused(tampered);
        assertEquals("preprocessor.bin", e.entry());
        assertTrue(e.getMessage().contains("unexpected entry"), e.getMessage());
        assertFalse(DeserializationMarker.ran);

        Map<String, byte[]> first = new LinkedHashMap<>();
        first.put("preprocessor.bin", serializedMarker());
        first.putAll(validEntries());
        assertEquals("preprocessor.bin", refused(zip("first.zip", first)).entry());
        assertFalse(DeserializationMarker.ran);
    }

    @Test
    void tamperedModelDirectoryIsRefusedByTheModelReader() throws IOException {
        String dir = tmp.resolve("model").toString();
        Fuzzers.tinyModel().write().save(dir);
        String zipPath = dir + "/network/network.zip";
        Map<String, byte[]> e = entries(zipPath);
        e.put("preprocessor.bin", serializedMarker());
        Path tampered = Path.of(zip("t.zip", e));
        Files.copy(tampered, Path.of(zipPath), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // whoever tampers with the zip drops Hadoop's local checksum file too (it would refuse the edit first)
        Files.delete(Path.of(dir, "network", ".network.zip.crc"));
        ModelFileException ex = assertThrows(ModelFileException.class, () -> CnnClassifierModel.load(dir));
        assertTrue(ex.getMessage().contains(zipPath) && ex.getMessage().contains("'preprocessor.bin'"),
                ex.getMessage());
        assertFalse(DeserializationMarker.ran);
    }

    @Test
    void unsafeDuplicateAndMissingEntriesAreRefused() throws IOException {
        for (String name : new String[]{"../configuration.json", "/coefficients.bin", "a/../../x", "C:\\x.bin"}) {
            Map<String, byte[]> m = new LinkedHashMap<>();
            m.put(name, new byte[]{1});
            m.putAll(validEntries());
            ModelFileException e = refused(zip("unsafe.zip", m));
            assertEquals(name, e.entry());
            assertTrue(e.getMessage().contains("unsafe entry name"), e.getMessage());
        }
        // ZipOutputStream refuses duplicate names: write a look-alike name and patch its bytes afterwards
        Map<String, byte[]> valid = validEntries();
        Map<String, byte[]> twice = new LinkedHashMap<>(valid);
        twice.put("configuratioX.json", valid.get(NetworkZip.CONFIGURATION));
        Path dup = Path.of(zip("dup.zip", twice));
        String raw = new String(Files.readAllBytes(dup), StandardCharsets.ISO_8859_1);
        Files.write(dup, raw.replace("configuratioX.json", NetworkZip.CONFIGURATION)
                .getBytes(StandardCharsets.ISO_8859_1));
        ModelFileException d = refused(dup.toString());
        assertEquals(NetworkZip.CONFIGURATION, d.entry());
        assertTrue(d.getMessage().contains("duplicate entry"), d.getMessage());

        Map<String, byte[]> noCoefficients = new LinkedHashMap<>(valid);
        noCoefficients.remove(NetworkZip.COEFFICIENTS);
        noCoefficients.remove(NetworkZip.UPDATER_STATE);
        assertTrue(refused(zip("missing.zip", noCoefficients)).getMessage().contains("lacks coefficients.bin"));

        Map<String, byte[]> outOfOrder = new LinkedHashMap<>();
        outOfOrder.put(NetworkZip.COEFFICIENTS, valid.get(NetworkZip.COEFFICIENTS));
        outOfOrder.put(NetworkZip.CONFIGURATION, valid.get(NetworkZip.CONFIGURATION));
        assertEquals(NetworkZip.COEFFICIENTS, refused(zip("order.zip", outOfOrder)).entry());
    }

    /** An array in Nd4j.write's format whose headers claim {@code claimed} values, followed by {@code values}. */
    private static byte[] nd4jArray(long rows, long cols, long claimed, float[] values) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeUTF("MIXED_DATA_TYPES");
        d.writeLong(8);
        d.writeUTF("LONG");
        for (long v : new long[]{2, rows, cols, cols, 1, 8192, 1, 99}) {
            d.writeLong(v);
        }
        d.writeUTF("MIXED_DATA_TYPES");
        d.writeLong(claimed);
        d.writeUTF("FLOAT");
        for (float v : values) {
            d.writeFloat(v);
        }
        return b.toByteArray();
    }

    @Test
    void lengthsThatDoNotMatchTheConfigurationOrTheFileAreRefused() throws IOException {
        Map<String, byte[]> valid = validEntries();
        long n = NetworkZip.numParams(org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(
                new String(valid.get(NetworkZip.CONFIGURATION), StandardCharsets.UTF_8)));
        // sanity: the hand-made format is ND4J's, so the right length loads
        Map<String, byte[]> ok = new LinkedHashMap<>(valid);
        ok.put(NetworkZip.COEFFICIENTS, nd4jArray(1, n, n, new float[(int) n]));
        ok.remove(NetworkZip.UPDATER_STATE);
        assertEquals(n, NetworkZip.read(zip("ok.zip", ok), CONF).numParams());

        for (long[] bad : new long[][]{{1, 1L << 40, 1L << 40}, {1, n, 1L << 40}, {1, n, n - 1}, {1, n + 1, n + 1},
                {-1, n, n}}) {
            Map<String, byte[]> m = new LinkedHashMap<>(valid);
            m.put(NetworkZip.COEFFICIENTS, nd4jArray(bad[0], bad[1], bad[2], new float[4]));
            ModelFileException e = refused(zip("oversized.zip", m));
            assertEquals(NetworkZip.COEFFICIENTS, e.entry());
            assertTrue(e.getMessage().contains("configuration has " + n) || e.getMessage().contains("dimension"),
                    e.getMessage());
        }

        // a configuration that claims more parameters than the file can hold is refused before allocating them
        Map<String, byte[]> huge = new LinkedHashMap<>();
        String json = new String(valid.get(NetworkZip.CONFIGURATION), StandardCharsets.UTF_8);
        String big = org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(json).toJson()
                .replaceFirst("\"nout\" : 3", "\"nout\" : 30000000");
        huge.put(NetworkZip.CONFIGURATION, big.getBytes(StandardCharsets.UTF_8));
        long claimed = NetworkZip.numParams(org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(big));
        assertTrue(claimed > 100_000_000L, "the edit should claim many parameters: " + claimed);
        huge.put(NetworkZip.COEFFICIENTS, nd4jArray(1, claimed, claimed, new float[4]));
        assertTrue(refused(zip("huge.zip", huge)).getMessage().contains("cannot fit in a file of this size"));

        Map<String, byte[]> trailing = new LinkedHashMap<>(valid);
        byte[] c = valid.get(NetworkZip.COEFFICIENTS);
        trailing.put(NetworkZip.COEFFICIENTS, java.util.Arrays.copyOf(c, c.length + 3));
        assertTrue(refused(zip("trailing.zip", trailing)).getMessage().contains("unexpected bytes"));
    }

    @Test
    void truncatedFilesNameTheFile() throws IOException {
        String p = tmp.resolve("full.zip").toString();
        NetworkZip.write(trainedNet(SMALL), p, CONF);
        byte[] all = Files.readAllBytes(Path.of(p));
        for (int keep : new int[]{all.length / 2, all.length * 3 / 4, 10, 0}) {
            Path cut = tmp.resolve("cut" + keep + ".zip");
            Files.write(cut, java.util.Arrays.copyOf(all, keep));
            ModelFileException e = refused(cut.toString());
            assertNotNull(e.getMessage());
        }
    }

    @Test
    void configurationNamingOtherClassesIsRefused() throws IOException {
        Map<String, byte[]> m = validEntries();
        String json = new String(m.get(NetworkZip.CONFIGURATION), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"@class\" : \"org.nd4j.linalg.activations.impl.ActivationReLU\""), json);
        m.put(NetworkZip.CONFIGURATION, json.replace("org.nd4j.linalg.activations.impl.ActivationReLU",
                "com.example.Gadget").getBytes(StandardCharsets.UTF_8));
        ModelFileException e = refused(zip("class.zip", m));
        assertTrue(e.getMessage().contains("com.example.Gadget"), e.getMessage());
    }

    @Test
    void arrayFilesAreBoundedByTheirSize() throws IOException {
        String p = tmp.resolve("a.bin").toString();
        HadoopFiles.writeArrays(p, CONF, new double[]{1, 2, 3}, new double[]{4});
        assertArrayEquals(new double[]{1, 2, 3}, HadoopFiles.readArrays(p, CONF)[0]);
        byte[] good = Files.readAllBytes(Path.of(p));

        byte[] manyArrays = good.clone();
        java.nio.ByteBuffer.wrap(manyArrays).putInt(4, Integer.MAX_VALUE);
        byte[] longArray = good.clone();
        java.nio.ByteBuffer.wrap(longArray).putInt(8, 1 << 30);
        byte[] negative = good.clone();
        java.nio.ByteBuffer.wrap(negative).putInt(8, -5);
        for (byte[] bad : new byte[][]{manyArrays, longArray, negative, java.util.Arrays.copyOf(good, good.length - 4),
                java.util.Arrays.copyOf(good, good.length + 8), java.util.Arrays.copyOf(good, 6)}) {
            Files.write(Path.of(p), bad);
            ModelFileException e = assertThrows(ModelFileException.class, () -> HadoopFiles.readArrays(p, CONF));
            assertTrue(e.getMessage().startsWith("Cannot load " + p), e.getMessage());
        }
    }
}
