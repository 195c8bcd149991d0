package io.sparkdl.io;

import io.sparkdl.train.EpochStats;
import io.sparkdl.train.ImageBlock;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.reflect.ClassTag$;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class Nd4jKryoRegistratorTest {

    private static SerializerInstance kryo() {
        return kryo(false);
    }

    private static SerializerInstance kryo(boolean registrationRequired) {
        SparkConf conf = new SparkConf(false)
                .set("spark.kryo.registrator", Nd4jKryoRegistrator.class.getName())
                .set("spark.kryo.registrationRequired", Boolean.toString(registrationRequired));
        return new KryoSerializer(conf).newInstance();
    }

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(SerializerInstance s, T value) {
        ByteBuffer bytes = s.serialize(value, ClassTag$.MODULE$.AnyRef());
        return (T) s.deserialize(bytes, ClassTag$.MODULE$.AnyRef());
    }

    @Test
    void ndArraysKeepShapeTypeAndValues() {
        SerializerInstance s = kryo();
        INDArray a = Nd4j.rand(DataType.FLOAT, 3, 4, 5).muli(7).subi(2);
        INDArray view = a.get(org.nd4j.linalg.indexing.NDArrayIndex.point(1)); // a view, not contiguous storage
        INDArray d = Nd4j.linspace(DataType.DOUBLE, 1, 6, 6).reshape('f', 2, 3);
        for (INDArray x : new INDArray[]{a, view, d}) {
            INDArray back = roundTrip(s, x);
            assertArrayEquals(x.shape(), back.shape());
            assertEquals(x.dataType(), back.dataType());
            assertEquals(x, back);
        }
    }

    @Test
    void imageBlocksAndRecordsRoundTrip() {
        SerializerInstance s = kryo();
        byte[] pixels = new byte[3 * 2 * 4 * 4];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 37);
        }
        ImageBlock b = new ImageBlock(3, 2, 4, 4, pixels, new int[]{2, 0, 1});
        ImageBlock back = roundTrip(s, b);
        assertEquals(3, back.size());
        assertEquals(2, back.channels());
        assertEquals(4, back.height());
        assertEquals(4, back.width());
        assertArrayEquals(pixels, back.pixels());
        assertArrayEquals(new int[]{2, 0, 1}, back.labels());

        EpochStats st = new EpochStats(2, 0.25, 0.9, 0.875, 1234.5, 12.0);
        assertEquals(st, roundTrip(s, st));

        // a broadcast Hadoop configuration must arrive with its settings (a cluster test caught Kryo dropping it)
        org.apache.hadoop.conf.Configuration hc = new org.apache.hadoop.conf.Configuration(false);
        hc.set("fs.test.setting", "kept");
        io.sparkdl.image.ImageSources.HadoopConf back2 = roundTrip(s, new io.sparkdl.image.ImageSources.HadoopConf(hc));
        assertEquals("kept", back2.get().get("fs.test.setting"));
    }

    /**
     * The packages' payloads are registered through the KryoRegistration services the one configured
     * registrator loads: with registration required, an unregistered class would fail to serialize.
     */
    @Test
    void payloadsOfOtherPackagesAreRegisteredThroughTheirServices() {
        SerializerInstance s = kryo(true);
        ImageBlock back = roundTrip(s, new ImageBlock(1, 1, 2, 2, new byte[]{1, 2, 3, 4}, new int[]{1}));
        assertArrayEquals(new byte[]{1, 2, 3, 4}, back.pixels());
        org.apache.hadoop.conf.Configuration hc = new org.apache.hadoop.conf.Configuration(false);
        hc.set("fs.test.setting", "kept");
        io.sparkdl.image.ImageSources.HadoopConf conf = roundTrip(s, new io.sparkdl.image.ImageSources.HadoopConf(hc));
        assertEquals("kept", conf.get().get("fs.test.setting"));
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> roundTrip(s, new Unregistered()),
                "registration is required: an unregistered class fails");
    }

    private static final class Unregistered {
    }
}
