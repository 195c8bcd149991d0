package io.sparkdl.train;

import io.sparkdl.testkit.SparkTest;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The parent's partition is computed (or read from the cache) only when the function asks for it. */
class LazyPartitionsTest {
    @Test
    void aPartitionNotAskedForIsNeitherComputedNorRead() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkTest.spark().sparkContext());
        LongAccumulator computed = sc.sc().longAccumulator("parent partitions computed");
        List<Integer> xs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            xs.add(i);
        }
        JavaRDD<Integer> parent = sc.parallelize(xs, 4).mapPartitions(it -> {
            computed.add(1);
            return it;
        });
        // even partitions sum their elements; odd ones answer without opening theirs
        List<Long> sums = new LazyPartitions<>(parent.rdd(), (int p, java.util.function.Supplier<Iterator<Integer>> in) -> {
            if (p % 2 == 1) {
                return Collections.singletonList(-1L).iterator();
            }
            long s = 0;
            for (Iterator<Integer> it = in.get(); it.hasNext(); ) {
                s += it.next();
            }
            return Collections.singletonList(s).iterator();
        }, Long.class).toJavaRDD().collect();
        assertEquals(List.of(0L + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9, -1L, 20L * 10 + 45, -1L), sums);
        assertEquals(2, computed.value(), "only the two partitions asked for were computed");

        // a cached parent: the partitions not asked for are not read from the cache either
        parent.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            assertEquals(40, parent.count());
            long before = computed.value();
            List<Long> again = new LazyPartitions<>(parent.rdd(),
                    (int p, java.util.function.Supplier<Iterator<Integer>> in) -> {
                        long n = 0;
                        if (p == 0) {
                            for (Iterator<Integer> it = in.get(); it.hasNext(); it.next()) {
                                n++;
                            }
                        }
                        return Collections.singletonList(n).iterator();
                    }, Long.class).toJavaRDD().collect();
            assertEquals(List.of(10L, 0L, 0L, 0L), again);
            assertEquals(before, computed.value(), "the cached partition was read, not computed again");
        } finally {
            parent.unpersist(true);
        }
    }
}
