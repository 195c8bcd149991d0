package io.sparkdl.classification;

import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageMetadata;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.image.ImageNormalizerModel;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.image.Normalization;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SparkTest;
import io.sparkdl.train.EpochStats;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.xxhash64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingQualityTest {
    @TempDir
    Path tmp;

    private static double accuracy(CnnClassifierModel m, Dataset<Row> rows) {
        List<Row> r = m.transform(rows).select("label", "predictedLabel").collectAsList();
        return r.stream().filter(x -> x.getString(0).equals(x.getString(1))).count() / (double) r.size();
    }

    @Test
    void earlyStoppingReturnsTheBestEpochsWeights() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 20)
                .withColumn("isVal", pmod(xxhash64(col("path")), lit(10)).lt(3)).cache();
        Dataset<Row> val = data.where(col("isVal"));
        // Adam at 1e-3 learns for two epochs; from epoch 3 the rate jumps 5000-fold and wrecks the weights,
        // so validation accuracy peaks and then falls
        CnnClassifier cnn = new CnnClassifier().setEpochs(8).setBatchSize(16).setNumWorkers(2).setSeed(5)
                .setLrSchedule("step:2:5000").setValidationIndicatorCol("isVal");
        CnnClassifierModel stopped = cnn.copy(org.apache.spark.ml.param.ParamMap.empty())
                .setEarlyStoppingPatience(2).fit(data);
        List<EpochStats> h = stopped.summary().history();
        int best = 0;
        for (int i = 0; i < h.size(); i++) {
            if (h.get(i).validationAccuracy() > h.get(best).validationAccuracy()) {
                best = i;
            }
        }
        double peak = h.get(best).validationAccuracy();
        assertTrue(best < h.size() - 1 && h.get(h.size() - 1).validationAccuracy() < peak - 0.1,
                "validation accuracy fell after its peak: " + h);
        assertTrue(h.size() < 8, "stopped before the last epoch: " + h.size() + " epochs");
        assertEquals(best + 1 + 2, h.size(), "stopped two epochs (the patience) after the best");
        assertEquals(best + 1, stopped.summary().keptEpoch());
        assertEquals(peak, accuracy(stopped, val), 1e-9, "the returned weights are the best epoch's");

        // without early stopping the last epoch's weights come back, as before
        CnnClassifierModel last = cnn.copy(org.apache.spark.ml.param.ParamMap.empty()).setEpochs(h.size()).fit(data);
        List<EpochStats> h2 = last.summary().history();
        assertEquals(h2.get(h2.size() - 1).validationAccuracy(), accuracy(last, val), 1e-9);
        assertNotEquals(peak, accuracy(last, val));

        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setEarlyStoppingPatience(2)
                .fit(data)).getMessage().contains("needs a validation set"));
        data.unpersist();
    }

    @Test
    void theNormalizerFitsPerChannelStatisticsAndTheModelKeepsThem() throws Exception {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 6).cache();
        ImageNormalizerModel nm = new ImageNormalizer().setChannels(1).setOutputCol("z").fit(data);
        // the statistics, computed here directly
        double s = 0;
        double sq = 0;
        long n = 0;
        List<Row> rows = data.select("image").collectAsList();
        for (Row r : rows) {
            for (byte b : (byte[]) r.getStruct(0).get(5)) {
                double v = (b & 0xff) / 255.0;
                s += v;
                sq += v * v;
                n++;
            }
        }
        double mean = s / n;
        double std = Math.sqrt(sq / n - mean * mean);
        assertEquals(mean, nm.normalization().mean()[0], 1e-9);
        assertEquals(std, nm.normalization().std()[0], 1e-9);

        Dataset<Row> tagged = nm.transform(data);
        assertEquals(nm.normalization(), ImageMetadata.normalization(tagged.schema().apply("image")));
        Row first = tagged.select("image", "z").first();
        byte[] px = (byte[]) first.getStruct(0).get(5);
        Vector z = first.getAs(1);
        assertEquals(((px[10] & 0xff) / 255.0 - mean) / std, z.apply(10), 1e-5);

        CnnClassifierModel m = new CnnClassifier().setEpochs(1).setBatchSize(16).setNumWorkers(2).setSeed(4)
                .fit(tagged);
        assertEquals(nm.normalization(), m.normalization());
        String dir = tmp.resolve("m").toString();
        m.write().overwrite().save(dir);
        CnnClassifierModel back = CnnClassifierModel.load(dir);
        assertEquals(m.normalization(), back.normalization());
        // the saved model standardises raw images itself: no normaliser needed when predicting
        List<Row> viaTagged = m.transform(tagged).select("path", "probability").orderBy("path").collectAsList();
        List<Row> viaRaw = back.transform(data).select("path", "probability").orderBy("path").collectAsList();
        assertEquals(viaTagged, viaRaw);
        CnnClassifierModel without = new CnnClassifierModel("x", m.labels(), m.network(), m.inputShape(), null);
        assertNotEquals(viaRaw, without.transform(data).select("path", "probability").orderBy("path")
                .collectAsList(), "the normalisation is applied at prediction");

        // a 3-channel normalisation does not fit a gray network
        Dataset<Row> rgb = new ImageNormalizer().setChannels(3).fit(data).transform(data);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CnnClassifier().setChannels(1)
                .setEpochs(1).fit(rgb)).getMessage().contains("3-channel"));
        data.unpersist();
    }

    @Test
    void normalizationValidatesAndStandardises() {
        Normalization n = new Normalization(new double[]{0.5, 0.25, 0}, new double[]{0.5, 0.25, 1});
        float[] x = {1, 0.5f, 0.25f, 0.75f, 0, 1};
        n.apply(x, 1, 3, 2);
        assertArrayEquals(new float[]{1, 0, 0, 2, 0, 1}, x, 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> new Normalization(new double[]{0}, new double[]{0}));
        assertThrows(IllegalArgumentException.class, () -> n.apply(new float[4], 1, 1, 4));
    }

    @Test
    void fineTuningKeepsTheInitialModelsNormalisation() throws Exception {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 4).cache();
        Dataset<Row> tagged = new ImageNormalizer().fit(data).transform(data);
        CnnClassifierModel first = new CnnClassifier().setEpochs(1).setBatchSize(16).setNumWorkers(1).setSeed(1)
                .fit(tagged);
        String dir = tmp.resolve("first").toString();
        first.write().overwrite().save(dir);
        CnnClassifierModel tuned = new CnnClassifier().setInitialModel(dir).setFrozenLayers(2).setEpochs(1)
                .setBatchSize(16).setNumWorkers(1).fit(data);
        assertEquals(first.normalization(), tuned.normalization());
        assertFalse(tuned.normalization() == null);
        data.unpersist();
    }

    @Test
    void aSaliencyMapComesFromTheModel() throws Exception {
        CnnClassifierModel m = Fuzzers.tinyModel();
        Row img = Fuzzers.smallDecoded(SparkTest.spark(), 1).select("image").first().getStruct(0);
        ImageCodec.Pixels px = ImageStruct.pixels(img);
        var r = m.saliency(px, m.labels()[2]);
        assertEquals(2, r.classIndex());
        assertEquals(m.inputShape()[0], r.height());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.saliency(px, "giraffe")).getMessage()
                .contains("giraffe"));
    }
}
