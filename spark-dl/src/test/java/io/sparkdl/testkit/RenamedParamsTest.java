package io.sparkdl.testkit;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.ensemble.ProbabilityAverager;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.io.SparkMLInternals;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Stages and models saved with the params' old names (README, "Renames") still load, with the new names set. */
class RenamedParamsTest {
    @TempDir
    Path tmp;

    @Test
    void aClassifierSavedWithImageHeightLoadsWithHeight() throws Exception {
        String dir = tmp.resolve("cnn").toString();
        new CnnClassifier().setHeight(32).setWidth(30).setChannels(3).write().save(dir);
        SavedMetadata.rewrite(Path.of(dir, "metadata"), "\"height\"", "\"imageHeight\"", "\"width\"", "\"imageWidth\"",
                "\"channels\"", "\"imageChannels\"");
        CnnClassifier back = CnnClassifier.load(dir);
        assertEquals(32, back.getHeight());
        assertEquals(30, back.getWidth());
        assertEquals(3, back.getChannels());
    }

    @Test
    void aFeaturizerSavedWithBatchSizeLoadsWithInferenceBatchSize() throws Exception {
        String dir = tmp.resolve("featurizer").toString();
        new CnnFeaturizer(Fuzzers.tinyModel()).setInferenceBatchSize(17).write().save(dir);
        SavedMetadata.rewrite(Path.of(dir, "metadata"), "\"inferenceBatchSize\"", "\"batchSize\"");
        assertEquals(17, CnnFeaturizer.load(dir).getInferenceBatchSize());
    }

    @Test
    void aPipelineModelWithAnAveragerSavedWithMethodLoadsWithCombination() throws Exception {
        String dir = tmp.resolve("pm").toString();
        ProbabilityAverager avg = new ProbabilityAverager().setInputCols("p1", "p2").setCombination("vote");
        SparkTest.spark();
        PipelineModel pm = SparkMLInternals.pipelineModel("pm", new Transformer[]{avg});
        pm.write().save(dir);
        Path stage;
        try (Stream<Path> stages = Files.list(Path.of(dir, "stages"))) {
            stage = stages.findFirst().orElseThrow();
        }
        SavedMetadata.rewrite(stage.resolve("metadata"), "\"combination\"", "\"method\"");
        ProbabilityAverager back = (ProbabilityAverager) PipelineModel.load(dir).stages()[0];
        assertEquals("vote", back.getCombination());
    }
}
