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
    private List<Integer> partitionSizes;

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

    /** Training images in each partition (the sum of its blocks), by partition index (counted once per run). */
    public List<Integer> partitionSizes() {
        if (partitionSizes == null) {
            partitionSizes = List.copyOf(sizes(data.train()));
        }
        return partitionSizes;
    }

    /** Images in each partition of {@code blocks}, by partition index. */
    static List<Integer> sizes(org.apache.spark.api.java.JavaRDD<ImageBlock> blocks) {
        return blocks.mapPartitions(it -> {
            long n = 0;
            while (it.hasNext()) {
                n += it.next().size();
            }
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a training partition holds " + n + " images, more than "
                        + Integer.MAX_VALUE + ": use more workers");
            }
            return List.of((int) n).iterator();
        }).collect();
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
