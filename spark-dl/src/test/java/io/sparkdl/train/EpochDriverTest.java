package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;
import io.sparkdl.testkit.SparkTest;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The epoch loop apart from any distributed algorithm: a scripted strategy, real evaluation. */
class EpochDriverTest {

    /** Returns the scripted weights for each epoch and records the states it was given. */
    private static final class Scripted implements TrainingStrategy {
        private final List<float[]> weights;
        private final List<TrainingState> seen = new ArrayList<>();

        Scripted(List<float[]> weights) {
            this.weights = weights;
        }

        @Override
        public EpochResult runEpoch(TrainingRun run, TrainingState state) {
            seen.add(state);
            float[] w = weights.get(state.epochsDone());
            float[] velocity = new float[w.length];
            java.util.Arrays.fill(velocity, state.epochsDone());
            return new EpochResult(w, null, velocity, state.iteration() + 7, 0.5, 40);
        }

        @Override
        public String describe() {
            return "scripted";
        }
    }

    @Test
    void earlyStoppingKeepsTheBestWeightsChecksPointsAndAResumedRunDoesNotTrainOn(@TempDir Path dir) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        JavaRDD<ImageBlock> train = sc.parallelize(List.of(ParameterAveragingTest.syntheticBlock(1, 40)), 1).cache();
        JavaRDD<ImageBlock> val = sc.parallelize(List.of(ParameterAveragingTest.syntheticBlock(2, 30)), 1).cache();
        MultiLayerConfiguration conf = ParameterAveragingTest.conf("adam");
        // zero weights predict class 0 for everything; trained ones do much better
        MultiLayerNetwork n = new MultiLayerNetwork(conf.clone());
        n.init();
        ImageBlock sample = ParameterAveragingTest.syntheticBlock(3, 300);
        for (int e = 0; e < 3; e++) {
            for (int s = 0; s < 300; s += 16) {
                n.fit(sample.dataSet(null, s, Math.min(300, s + 16), 3));
            }
        }
        float[] good = n.params().toFloatVector();
        float[] zero = new float[good.length];
        List<float[]> weights = List.of(zero, good, zero, zero, zero, zero);
        TrainingConfig config = new TrainingConfig(EngineSpec.nd4j(conf.toJson()), 6, 8, 3, 100, 2);
        TrainingData data = new TrainingData(train, val, 3);
        CheckpointStore store = new CheckpointStore(dir.toString(), new Configuration(), "f");
        Scripted strategy = new Scripted(weights);
        List<EpochStats> heard = new ArrayList<>();
        TrainingResult r = new EpochDriver(strategy, config).addListener(heard::add)
                .checkpointTo(store, dir.toString()).train(data, TrainingState.start(weights.get(0), null));

        // epoch 2 is best; 2 epochs without improvement later training stops and keeps its weights
        List<EpochStats> h = r.history();
        assertTrue(h.get(1).validationAccuracy() > h.get(0).validationAccuracy() + 0.2, h.toString());
        assertEquals(4, h.size(), h.toString());
        assertEquals(4, strategy.seen.size());
        assertEquals(2, r.keptEpoch());
        assertArrayEquals(good, r.params());
        assertEquals(h, heard);
        assertEquals(0.5, h.get(0).loss());
        // each epoch starts from the state the previous one left: iteration and the strategy's velocity
        for (int e = 1; e < strategy.seen.size(); e++) {
            assertEquals(7 * e, strategy.seen.get(e).iteration());
            assertEquals(e - 1, strategy.seen.get(e).velocity()[0]);
        }
        TrainingState saved = store.load();
        assertEquals(4, saved.epochsDone());
        assertEquals(2, saved.bestEpoch());
        assertArrayEquals(good, saved.bestParams());

        // killed after the last checkpoint: the resumed run has nothing left to train
        Scripted again = new Scripted(weights);
        TrainingResult resumed = new EpochDriver(again, config).checkpointTo(store, dir.toString())
                .train(data, TrainingState.start(weights.get(5), null));
        assertEquals(0, again.seen.size());
        assertEquals(h, resumed.history());
        assertArrayEquals(good, resumed.params());
        train.unpersist();
        val.unpersist();
    }

    @Test
    void earlyStoppingNeedsAValidationSet() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        JavaRDD<ImageBlock> train = sc.parallelize(List.of(ParameterAveragingTest.syntheticBlock(1, 10)), 1);
        TrainingConfig config = new TrainingConfig(EngineSpec.nd4j("{}"), 3, 8, 3, 100, 2);
        String msg = assertThrows(IllegalArgumentException.class, () -> new EpochDriver(new Scripted(List.of()), config)
                .train(new TrainingData(train, null, 3), TrainingState.start(new float[1], null))).getMessage();
        assertTrue(msg.contains("early stopping (patience 2) needs a validation set"), msg);
    }
}
