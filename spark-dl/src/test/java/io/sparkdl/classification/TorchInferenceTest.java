package io.sparkdl.classification;

import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.explain.Saliency;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.ModelData;
import io.sparkdl.io.ModelFileException;
import io.sparkdl.nn.NetworkSpec;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inference on the torch engine (issue 19): a model's transform, CnnFeaturizer embeddings and saliency maps on
 * libtorch agree with DL4J's on the same weights; the engine is kept through fit, save and load; models that do
 * not keep their architecture load as nd4j; tampered spec or parameters are refused naming the file.
 */
class TorchInferenceTest {
    private static final double TOL = 1e-4;
    private static Dataset<Row> data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void data() {
        data = Fuzzers.smallDecoded(SparkTest.spark(), 4).cache();
    }

    /** A model trained on nd4j for one epoch: batch norm's running statistics have moved off (0, 1). */
    private static CnnClassifierModel trained(String arch, String engine) {
        return new CnnClassifier().setArch(arch).setEngine(engine).setEpochs(1).setBatchSize(8).setNumWorkers(1)
                .setSeed(5).fit(data);
    }

    private static Map<String, double[]> column(Dataset<Row> d, String col) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Row r : d.select("path", col).collectAsList()) {
            out.put(r.getString(0), ((Vector) r.get(1)).toArray());
        }
        return out;
    }

    /** Largest difference relative to max(1, |expected|), as TorchNetworkTest measures it. */
    private static double worst(Map<String, double[]> expected, Map<String, double[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        double worst = 0;
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] a = actual.get(e.getKey());
            assertEquals(e.getValue().length, a.length, e.getKey());
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(e.getValue()[i] - a[i]) / Math.max(1, Math.abs(e.getValue()[i])));
            }
        }
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lenet", "bncnn", "resnet"})
    void torchTransformGivesDl4jsProbabilities(String arch) {
        CnnClassifierModel m = trained(arch, "nd4j");
        assertEquals(arch, m.arch());
        Map<String, double[]> nd4j = column(m.transform(data), "probability");
        Map<String, double[]> torch = column(m.setEngine("torch").transform(data), "probability");
        double w = worst(nd4j, torch);
        assertTrue(w <= TOL, arch + ": torch probabilities differ from nd4j's by " + w);
        assertTrue(w > 0, arch + ": bit-identical to DL4J's: did libtorch run at all?");
        // switching back on the same instance must not hand out the pooled torch network
        assertEquals(0.0, worst(nd4j, column(m.setEngine("nd4j").transform(data), "probability")));
        boolean differs = nd4j.values().stream().anyMatch(p -> Math.abs(p[0] - p[1]) > 1e-3);
        assertTrue(differs, "the probabilities should not be uniform after training");
    }

    @Test
    void torchEmbeddingsAndSaliencyMatchDl4j() throws Exception {
        for (String arch : new String[]{"lenet", "bncnn"}) {
            CnnClassifierModel m = trained(arch, "nd4j");
            CnnClassifierModel t = m.copy(ParamMap.empty()).setEngine("torch");
            // the default layer (before the output), a conv-shaped one, the output (probabilities) and, for
            // bncnn, a batch norm
            for (int layer : arch.equals("lenet") ? new int[]{-1, 1, 5} : new int[]{-1, 1, 4}) {
                Map<String, double[]> a = column(new CnnFeaturizer(m).setLayer(layer).transform(data), "embedding");
                Map<String, double[]> b = column(new CnnFeaturizer(t).setLayer(layer).transform(data), "embedding");
                double w = worst(a, b);
                assertTrue(w <= TOL, arch + " layer " + layer + ": embeddings differ by " + w);
                // (the first conv and its pooling can come out bit-identical; deeper layers do not)
                assertTrue(layer != -1 || w > 0, arch + ": bit-identical to DL4J's: did libtorch run at all?");
            }
            List<Row> rows = data.select("image").limit(3).collectAsList();
            for (Row r : rows) {
                ImageCodec.Pixels px = ImageStruct.pixels(r.getStruct(0));
                for (String cls : new String[]{null, m.labels()[2]}) {
                    Saliency.Result sa = m.saliency(px, cls);
                    Saliency.Result sb = t.saliency(px, cls);
                    assertEquals(sa.classIndex(), sb.classIndex());
                    assertEquals(sa.predicted(), sb.predicted());
                    assertEquals(sa.probability(), sb.probability(), TOL);
                    float max = 0;
                    float diff = 0;
                    for (int y = 0; y < sa.height(); y++) {
                        for (int x = 0; x < sa.width(); x++) {
                            max = Math.max(max, sa.map()[y][x]);
                            diff = Math.max(diff, Math.abs(sa.map()[y][x] - sb.map()[y][x]));
                        }
                    }
                    assertTrue(max > 0, "a non-trivial map");
                    assertTrue(diff <= 1e-3 * max, arch + ": saliency maps differ by " + diff + " (max " + max + ")");
                }
            }
        }
    }

    @Test
    void aTorchTrainedModelKeepsItsEngineThroughSaveAndLoad() throws Exception {
        CnnClassifierModel m = trained("bncnn", "torch");
        assertEquals("torch", m.getEngine());
        Map<String, double[]> before = column(m.transform(data), "probability");
        String dir = tmp.resolve("torch-model").toString();
        m.write().save(dir);
        assertEquals("bncnn", SparkTest.spark().read().parquet(dir + "/data").select("arch").first().getString(0));
        CnnClassifierModel loaded = CnnClassifierModel.load(dir);
        assertEquals("torch", loaded.getEngine());
        assertEquals("bncnn", loaded.arch());
        assertEquals(0.0, worst(before, column(loaded.transform(data), "probability")));
        // the same weights on nd4j
        double w = worst(before, column(loaded.setEngine("nd4j").transform(data), "probability"));
        assertTrue(w <= TOL, "nd4j differs from torch by " + w);
    }

    @Test
    void modelsThatDoNotKeepTheirArchLoadAsNd4j() throws Exception {
        // release 0.1's layout
        File v01 = new File("src/test/resources/legacy-models/0.1/classifier");
        CnnClassifierModel legacy = CnnClassifierModel.load(v01.getAbsolutePath());
        assertEquals("nd4j", legacy.getEngine());
        assertNull(legacy.arch());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> legacy.setEngine("torch").transform(data));
        assertTrue(e.getMessage().contains("architecture") && e.getMessage().contains(legacy.uid()), e.getMessage());
        // the Parquet layout before the arch column
        CnnClassifierModel m = Fuzzers.tinyModel();
        String dir = tmp.resolve("no-arch").toString();
        m.write().save(dir);
        SparkSession spark = SparkTest.spark();
        Row r = spark.read().parquet(dir + "/data").select(CnnClassifierModel.DATA_SCHEMA.fieldNames()[0],
                java.util.Arrays.copyOfRange(CnnClassifierModel.DATA_SCHEMA.fieldNames(), 1,
                        CnnClassifierModel.DATA_SCHEMA.size())).first();
        HadoopFiles.deleteRecursively(dir + "/data", new Configuration());
        ModelData.write(spark, dir + "/data", CnnClassifierModel.DATA_SCHEMA, List.of(r));
        CnnClassifierModel old = CnnClassifierModel.load(dir);
        assertNull(old.arch());
        assertEquals("torch", m.getEngine()); // the default, for a model that keeps its arch
        assertEquals("nd4j", old.getEngine()); // without the arch, nd4j serves it
        assertEquals(0.0, worst(column(m.setEngine("nd4j").transform(data), "probability"),
                column(old.transform(data), "probability")));
    }

    /** Rewrites the one row of {@code dir/data} with {@code arch} in place of the saved one. */
    private static void setArch(String dir, String arch) {
        SparkSession spark = SparkTest.spark();
        Row r = spark.read().parquet(dir + "/data").select(CnnClassifierModel.WRITTEN_SCHEMA.fieldNames()[0],
                java.util.Arrays.copyOfRange(CnnClassifierModel.WRITTEN_SCHEMA.fieldNames(), 1,
                        CnnClassifierModel.WRITTEN_SCHEMA.size())).first();
        Object[] v = new Object[r.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.get(i);
        }
        v[v.length - 1] = arch;
        HadoopFiles.deleteRecursively(dir + "/data", new Configuration());
        ModelData.write(spark, dir + "/data", CnnClassifierModel.WRITTEN_SCHEMA, List.of(RowFactory.create(v)));
    }

    private static Map<String, byte[]> entries(Path zip) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                out.put(e.getName(), in.readAllBytes());
            }
        }
        return out;
    }

    private static void writeZip(Path zip, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        Files.write(zip, bytes.toByteArray());
        // whoever tampers with the zip drops Hadoop's local checksum file too (it would refuse the edit first)
        Files.deleteIfExists(zip.resolveSibling("." + zip.getFileName() + ".crc"));
    }

    @Test
    void aTorchModelWithTamperedSpecOrParamsIsRefusedNamingTheFile() throws Exception {
        CnnClassifierModel m = Fuzzers.tinyModel().copy(ParamMap.empty()).setEngine("torch");
        String dir = tmp.resolve("tampered").toString();
        m.write().save(dir);
        assertEquals("torch", CnnClassifierModel.load(dir).getEngine());
        String data = dir + "/data";
        // layer sizes changed in the saved spec: dense 500 -> 400, conv 20 -> 10 filters, a layer dropped
        String[] bad = {
            NetworkSpec.LENET.replace("\"units\": 500", "\"units\": 400"),
            NetworkSpec.LENET.replace("\"filters\": 20", "\"filters\": 10"),
            NetworkSpec.LENET.replaceFirst(java.util.regex.Pattern.quote(
                    "{\"type\": \"maxpool\", \"kernel\": 2, \"stride\": 2},"), ""),
            "bncnn",
            "{\"layers\": [{\"type\": \"nonsense\"}]}"};
        for (String arch : bad) {
            setArch(dir, arch);
            ModelFileException e = assertThrows(ModelFileException.class, () -> CnnClassifierModel.load(dir), arch);
            assertTrue(e.getMessage().startsWith("Cannot load " + data) && e.getMessage().contains("arch"),
                    e.getMessage());
        }
        setArch(dir, "lenet");
        assertEquals("torch", CnnClassifierModel.load(dir).getEngine());

        // truncated parameters, and a configuration whose dense layer was resized
        Path zip = Path.of(dir, "network", "network.zip");
        Map<String, byte[]> valid = entries(zip);
        Map<String, byte[]> cut = new LinkedHashMap<>(valid);
        byte[] c = valid.get("coefficients.bin");
        cut.put("coefficients.bin", java.util.Arrays.copyOf(c, c.length / 2));
        Map<String, byte[]> resized = new LinkedHashMap<>(valid);
        String conf = new String(valid.get("configuration.json"), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(conf.contains("\"nout\" : 500"), "the dense layer's size in the configuration");
        resized.put("configuration.json", conf.replace("\"nout\" : 500", "\"nout\" : 400")
                .replace("\"nin\" : 500", "\"nin\" : 400").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (Map<String, byte[]> tampered : List.of(cut, resized)) {
            writeZip(zip, tampered);
            ModelFileException e = assertThrows(ModelFileException.class, () -> CnnClassifierModel.load(dir));
            assertTrue(e.getMessage().contains(zip.toString()) || e.getMessage().contains(data), e.getMessage());
        }
    }

    @Test
    void anEnsembleOfTorchMembersTrainsAndPredictsOnTorch() {
        CnnClassifier base = new CnnClassifier().setEngine("torch").setEpochs(1).setBatchSize(8).setNumWorkers(1);
        EnsembleClassifierModel e = new EnsembleClassifier().setEstimator(base).setNumMembers(2).setSeed(3).fit(data);
        Map<String, double[]> ens = column(e.transform(data), "probability");
        Map<String, double[]> mean = null;
        for (CnnClassifierModel member : e.members()) {
            assertEquals("torch", member.getEngine());
            assertTrue(member.summary().strategy() != null);
            // the member's torch prediction equals the same weights on nd4j
            Map<String, double[]> p = column(member.transform(data), "probability");
            double w = worst(p, column(member.copy(ParamMap.empty()).setEngine("nd4j").transform(data),
                    "probability"));
            assertTrue(w <= TOL, "member differs between engines by " + w);
            if (mean == null) {
                mean = new LinkedHashMap<>();
                for (Map.Entry<String, double[]> en : p.entrySet()) {
                    mean.put(en.getKey(), en.getValue().clone());
                }
            } else {
                for (Map.Entry<String, double[]> en : p.entrySet()) {
                    double[] s = mean.get(en.getKey());
                    for (int i = 0; i < s.length; i++) {
                        s[i] += en.getValue()[i];
                    }
                }
            }
        }
        for (double[] s : mean.values()) {
            for (int i = 0; i < s.length; i++) {
                s[i] /= e.members().length;
            }
        }
        double w = worst(mean, ens);
        assertTrue(w <= 1e-6, "the ensemble's mean differs from its torch members' by " + w);
    }
}
