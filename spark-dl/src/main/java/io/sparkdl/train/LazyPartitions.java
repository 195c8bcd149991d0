package io.sparkdl.train;

import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import scala.reflect.ClassTag;

import java.io.Serializable;
import java.util.Iterator;
import java.util.function.Supplier;

/**
 * A one-to-one child of an RDD whose per-partition function gets its parent's partition as a {@link Supplier}
 * and reads it only if it asks for it. {@code mapPartitions} hands over the parent's iterator already opened,
 * and opening a cached partition does work before a single element is taken: for a
 * {@code MEMORY_AND_DISK} partition that went to disk, Spark's block manager starts putting it back in memory,
 * deserializing blocks from disk until storage memory runs out. An averaging round whose images the
 * {@link ReadAhead} already holds needs none of that. Tasks run where the parent's partitions are cached, as
 * for {@code mapPartitions} (the scheduler follows the one-to-one dependency to the cached parent).
 */
final class LazyPartitions<T, U> extends RDD<U> {
    private static final long serialVersionUID = 1L;

    /** The per-partition function: the partition's number and its parent's elements, read on demand. */
    @FunctionalInterface
    interface Fn<T, U> extends Serializable {
        Iterator<U> call(int partition, Supplier<Iterator<T>> parent);
    }

    private final Fn<T, U> fn;
    private final ClassTag<T> parentTag;

    LazyPartitions(RDD<T> parent, Fn<T, U> fn, Class<U> out) {
        super(parent, scala.reflect.ClassTag$.MODULE$.apply(out));
        this.fn = fn;
        this.parentTag = parent.elementClassTag();
    }

    @Override
    @SuppressWarnings("deprecation") // JavaConverters: the one converter in both Scala 2.12 and 2.13
    public scala.collection.Iterator<U> compute(Partition split, TaskContext context) {
        RDD<T> parent = firstParent(parentTag);
        Iterator<U> out = fn.call(split.index(),
                () -> scala.collection.JavaConverters.asJavaIterator(parent.iterator(split, context)));
        return scala.collection.JavaConverters.asScalaIterator(out);
    }

    @Override
    public Partition[] getPartitions() {
        return firstParent(parentTag).partitions();
    }
}
