package io.sparkdl.ensemble;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.testkit.Fuzzers;
import io.sparkdl.testkit.SavedMetadata;
import io.sparkdl.testkit.SparkTest;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ensemble's base estimator: every option of the base reaches every member; it saves and loads as a stage. */
class EnsembleBaseEstimatorTest {
    @TempDir
    Path tmp;

    @Test
    void everyTrainingOptionOfTheBaseReachesEveryMember() {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 12).cache();
        CnnClassifier base = new CnnClassifier().setEpochs(3).setBatchSize(16).setNumWorkers(1)
                .setAugmentation("rotate=10,flip=horizontal").setEarlyStoppingPatience(1).setValidationFraction(0.25)
                .setLrSchedule("cosine").setWeightDecay(1e-4).setUpdater("momentum").setLearningRate(0.01)
                .setMomentum(0.8).setAveragingFrequency(2).setBlockMomentum(0.0).setTrainAccuracySample(50)
                .setEngine("nd4j").setSeed(999);
        EnsembleClassifierModel m = new EnsembleClassifier().setEstimator(base).setNumMembers(2).setSeed(100)
                .setValidationFraction(0.2).fit(data);
        CnnClassifierModel[] members = m.members();
        assertEquals(2, members.length);
        for (int i = 0; i < members.length; i++) {
            CnnClassifier fitted = (CnnClassifier) members[i].parent();
            for (Param<?> p : base.params()) {
                if (!base.isDefined(p)) {
                    assertFalse(fitted.isDefined(fitted.getParam(p.name())), "member " + i + ": " + p.name());
                    continue;
                }
                Object want = p.name().equals("seed") ? Long.valueOf(100 + i) : base.getOrDefault(p);
                assertEquals(want, fitted.getOrDefault(fitted.getParam(p.name())),
                        "member " + i + ": param " + p.name());
                if (base.isSet(p)) {
                    assertTrue(fitted.isSet(fitted.getParam(p.name())), "member " + i + ": " + p.name() + " set");
                }
            }
            // and the training shows it: a validation split of the member's own, early stopping
            assertTrue(members[i].summary().strategy().contains("early stopping, patience 1"),
                    members[i].summary().strategy());
            assertTrue(members[i].summary().history().size() <= 3);
            assertFalse(Double.isNaN(members[i].summary().history().get(0).validationAccuracy()));
        }
        assertFalse(Arrays.equals(members[0].network().params().toFloatVector(),
                members[1].network().params().toFloatVector()), "the seeds differ, so do the members");
        assertEquals(999L, base.getSeed(), "the base estimator is copied, never changed");
        data.unpersist();
    }

    @Test
    void aPipelineBaseFitsItsNormalizerPerMemberAndSavesAsANestedStage() throws Exception {
        Dataset<Row> data = Fuzzers.smallDecoded(SparkTest.spark(), 8).cache();
        Pipeline base = new Pipeline().setStages(new PipelineStage[]{new ImageNormalizer(),
            new CnnClassifier().setEpochs(1).setBatchSize(16).setNumWorkers(1)});
        EnsembleClassifier ens = new EnsembleClassifier().setEstimator(base).setNumMembers(2).setArchs("lenet", "bncnn")
                .setValidationFraction(0);
        EnsembleClassifierModel m = ens.fit(data);
        for (int i = 0; i < 2; i++) {
            assertNotNull(m.members()[i].normalization(), "member " + i + " keeps the normaliser it was fitted with");
            assertEquals(i == 0 ? "lenet" : "bncnn", ((CnnClassifier) m.members()[i].parent()).getArch());
        }

        String dir = tmp.resolve("ens").toString();
        ens.write().save(dir);
        EnsembleClassifier back = EnsembleClassifier.load(dir);
        assertEquals(ens.uid(), back.uid());
        Pipeline p = assertInstanceOf(Pipeline.class, back.getEstimator());
        assertEquals(2, p.getStages().length);
        assertEquals(1, ((CnnClassifier) p.getStages()[1]).getEpochs());
        assertEquals(List.of("lenet", "bncnn"), List.of(back.getArchs()));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EnsembleClassifier()
                .setEstimator(new Pipeline().setStages(new PipelineStage[]{new ImageNormalizer()})));
        assertTrue(e.getMessage().contains("must end in a CnnClassifier"), e.getMessage());
        data.unpersist();
    }

    @Test
    void anEnsembleSavedWithItsOwnTrainingParamsLoadsThemIntoTheBase() throws Exception {
        SparkTest.spark();
        String dir = tmp.resolve("old").toString();
        new EnsembleClassifier().setNumMembers(3).setSeed(5).write().save(dir);
        // as releases before the base estimator wrote it: epochs, learningRate, ... among the ensemble's own params
        SavedMetadata.rewrite(Path.of(dir, "metadata"), "\"paramMap\":{",
                "\"paramMap\":{\"epochs\":7,\"learningRate\":0.02,\"updater\":\"sgd\",");
        EnsembleClassifier back = EnsembleClassifier.load(dir);
        assertEquals(3, back.getNumMembers());
        CnnClassifier base = assertInstanceOf(CnnClassifier.class, back.getEstimator());
        assertEquals(7, base.getEpochs());
        assertEquals(0.02, base.getLearningRate());
        assertEquals("sgd", base.getUpdater());
    }
}
