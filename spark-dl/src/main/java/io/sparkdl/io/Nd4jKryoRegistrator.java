package io.sparkdl.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkdl.train.ImageBlock;
import org.apache.spark.serializer.KryoRegistrator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Kryo registrations for ND4J arrays and spark-dl's own payloads. Set
 * {@code spark.serializer=org.apache.spark.serializer.KryoSerializer} and
 * {@code spark.kryo.registrator=io.sparkdl.io.Nd4jKryoRegistrator} (conf/spark-defaults.conf does).
 *
 * <p>Kryo's field serializer cannot rebuild an {@link INDArray}: its data lives off-heap in a JavaCPP
 * pointer, which Kryo would copy as a dangling address. Arrays travel in ND4J's own binary format
 * instead (shape, data type and data; any backend, so an array written on a CPU executor reads on a
 * GPU one). ND4J's {@code nd4j-kryo} does the same but exists only for 1.0.0-M2 and pulls a second
 * Kryo, so spark-dl carries this one.
 */
public class Nd4jKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.addDefaultSerializer(INDArray.class, new NdArraySerializer());
        // Kryo 4 cannot set a record's final fields on Java 17 (Unsafe refuses record field offsets),
        // so records (spark-dl's broadcast and result payloads) travel by Java serialization.
        kryo.addDefaultSerializer(Record.class, new JavaSerializer());
        kryo.register(ImageBlock.class, new ImageBlockSerializer());
        // Hadoop configurations travel through their own writeObject/readObject (Kryo would drop them)
        kryo.register(io.sparkdl.image.ImageSources.HadoopConf.class, new JavaSerializer());
        kryo.register(float[].class);
        kryo.register(double[].class);
        kryo.register(int[].class);
        kryo.register(byte[].class);
        kryo.register(long[].class);
    }

    /** ND4J's binary format: self-describing, backend independent. */
    public static final class NdArraySerializer extends Serializer<INDArray> {
        @Override
        public void write(Kryo kryo, Output output, INDArray array) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                Nd4j.write(array, out);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot serialize an INDArray of shape "
                        + java.util.Arrays.toString(array.shape()), e);
            }
            output.writeInt(bytes.size(), true);
            output.writeBytes(bytes.toByteArray());
        }

        @Override
        public INDArray read(Kryo kryo, Input input, Class<INDArray> type) {
            byte[] b = input.readBytes(input.readInt(true));
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
                return Nd4j.read(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read a serialized INDArray (" + b.length + " bytes)", e);
            }
        }
    }

    /** Four ints, the pixel bytes and the labels; no field reflection. */
    public static final class ImageBlockSerializer extends Serializer<ImageBlock> {
        @Override
        public void write(Kryo kryo, Output output, ImageBlock block) {
            output.writeInt(block.size(), true);
            output.writeInt(block.channels(), true);
            output.writeInt(block.height(), true);
            output.writeInt(block.width(), true);
            byte[] pixels = block.pixels();
            output.writeInt(pixels.length, true);
            output.writeBytes(pixels);
            output.writeInts(block.labels(), true);
        }

        @Override
        public ImageBlock read(Kryo kryo, Input input, Class<ImageBlock> type) {
            int size = input.readInt(true);
            int channels = input.readInt(true);
            int height = input.readInt(true);
            int width = input.readInt(true);
            byte[] pixels = input.readBytes(input.readInt(true));
            int[] labels = input.readInts(size, true);
            return new ImageBlock(size, channels, height, width, pixels, labels);
        }
    }
}
