package io.sparkdl.train;

import io.sparkdl.engine.EngineSpec;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.List;
import java.util.UUID;

/**
 * One fit in progress, as its {@link TrainingStrategy} and the {@link EpochDriver}'s evaluation share it:
 * the data and settings, the engine spec broadcast once, and the run's id, under which the executors'
 * {@link NetworkPool} keeps the networks that the training rounds and the evaluations borrow.
 */
public final class TrainingRun implements AutoCloseable {
    private final TrainingData data;
    private final TrainingConfig config;
    private final JavaSparkContext sc;
    private final String id = "train-" + UUID.randomUUID();
    private final Broadcast<EngineSpec> engine;
    private List<Integer> blockSizes;

    TrainingRun(TrainingData data, TrainingConfig config) {
        this.data = data;
        this.config = config;
        this.sc = data.sc();
        this.engine = sc.broadcast(config.engine());
    }

    public TrainingData data() {
        return data;
    }

    public TrainingConfig config() {
        return config;
    }

    public JavaSparkContext sc() {
        return sc;
    }

    /** The key of this run's networks in the executors' {@link NetworkPool}. */
    public String id() {
        return id;
    }

    /** The engine spec, broadcast once per run. */
    public Broadcast<EngineSpec> engine() {
        return engine;
    }

    /** Images in each training block, by partition (counted once per run). */
    public List<Integer> blockSizes() {
        if (blockSizes == null) {
            blockSizes = List.copyOf(data.train().map(ImageBlock::size).collect());
        }
        return blockSizes;
    }

    /** Labels the next Spark jobs in the UI ("spark-dl train: epoch 3/10, ..."). */
    public void describeJobs(int epoch, String what) {
        sc.setJobDescription("spark-dl train: epoch " + epoch + "/" + config.epochs() + ", " + what);
    }

    @Override
    public void close() {
        sc.clearJobGroup();
        sc.setJobDescription(null);
        engine.destroy();
    }
}
