package io.sparkdl.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.spark.serializer.KryoRegistrator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.ServiceLoader;

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
 *
 * <p>The packages' own payloads (training blocks, Hadoop configurations) are registered by the
 * {@link KryoRegistration}s they list in {@code META-INF/services}, so this class names none of them.
 */
public class Nd4jKryoRegistrator implements KryoRegistrator {
    private static final List<KryoRegistration> PAYLOADS = ServiceLoader
            .load(KryoRegistration.class, Nd4jKryoRegistrator.class.getClassLoader()).stream()
            .map(ServiceLoader.Provider::get).toList();

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.addDefaultSerializer(INDArray.class, new NdArraySerializer());
        // Kryo 4 cannot set a record's final fields on Java 17 (Unsafe refuses record field offsets),
        // so records (spark-dl's broadcast and result payloads) travel by Java serialization.
        kryo.addDefaultSerializer(Record.class, new JavaSerializer());
        kryo.register(float[].class);
        kryo.register(double[].class);
        kryo.register(int[].class);
        kryo.register(byte[].class);
        kryo.register(long[].class);
        for (KryoRegistration r : PAYLOADS) {
            r.registerClasses(kryo);
        }
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
}
