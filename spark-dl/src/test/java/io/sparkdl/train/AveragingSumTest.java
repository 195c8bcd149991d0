package io.sparkdl.train;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The round's weighted sum: exact for one worker, weighted mean for several, compact on the way to the driver. */
class AveragingSumTest {

    private static AveragingRound.WorkerResult result(float[] params, float[] state, int batches) {
        return new AveragingRound.WorkerResult(params, state, batches, batches * 64L, 0.5 * batches, 1, 2);
    }

    @Test
    void oneWorkersSumGivesBackItsVectorsExactly() {
        float[] p = {0.1f, -3.3333333f, 1e-30f, 7f};
        float[] s = {1f / 3, 2f / 3};
        AveragingRound.Sum sum = new AveragingRound.Sum().add(result(p, s, 3));
        sum = new AveragingRound.Sum().merge(sum); // the driver's fold starts from an empty sum
        assertArrayEquals(p, sum.meanParams());
        assertArrayEquals(s, sum.meanState());
        assertEquals(3, sum.batches);
    }

    @Test
    void twoWorkersGiveTheWeightedMeanInEitherOrder() {
        AveragingRound.Sum a = new AveragingRound.Sum().add(result(new float[]{1, 2}, new float[]{4}, 1));
        AveragingRound.Sum b = new AveragingRound.Sum().add(result(new float[]{4, 8}, new float[]{1}, 2));
        AveragingRound.Sum ab = new AveragingRound.Sum().merge(a).merge(b);
        assertArrayEquals(new float[]{3, 6}, ab.meanParams());
        assertArrayEquals(new float[]{2}, ab.meanState());
        assertEquals(3, ab.batches);
        assertEquals(2, ab.maxBatches);
        AveragingRound.Sum c = new AveragingRound.Sum().add(result(new float[]{1, 2}, new float[]{4}, 1));
        AveragingRound.Sum d = new AveragingRound.Sum().add(result(new float[]{4, 8}, new float[]{1}, 2));
        assertArrayEquals(ab.meanParams(), d.merge(c).meanParams());
        // two results added in one task (a partition of several workers' results) too
        AveragingRound.Sum e = new AveragingRound.Sum().add(result(new float[]{1, 2}, null, 1))
                .add(result(new float[]{4, 8}, null, 2));
        assertArrayEquals(new float[]{3, 6}, e.meanParams());
        assertNull(e.meanState());
    }

    @Test
    void aTasksSumTravelsAsFloats() {
        int n = 100_000;
        AveragingRound.Sum sum = new AveragingRound.Sum().add(result(new float[n], new float[2 * n], 5));
        KryoSerializer kryo = new KryoSerializer(new SparkConf());
        ByteBuffer bytes = kryo.newInstance().serialize(sum, scala.reflect.ClassTag$.MODULE$.apply(
                AveragingRound.Sum.class));
        // 3n floats are 12n bytes; fp64 sums would be 24n
        assertTrue(bytes.remaining() < 13 * n, "serialized to " + bytes.remaining() + " bytes");
        AveragingRound.Sum back = kryo.newInstance().deserialize(bytes, scala.reflect.ClassTag$.MODULE$.apply(
                AveragingRound.Sum.class));
        assertEquals(n, back.meanParams().length);
        assertEquals(5, back.batches);
    }
}
