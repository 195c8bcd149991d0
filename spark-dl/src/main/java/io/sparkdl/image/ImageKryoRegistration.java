package io.sparkdl.image;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkdl.io.KryoRegistration;

/** Kryo for image/'s payloads (found by {@code Nd4jKryoRegistrator}). */
public final class ImageKryoRegistration implements KryoRegistration {

    @Override
    public void registerClasses(Kryo kryo) {
        // Hadoop configurations travel through their own writeObject/readObject (Kryo would drop them)
        kryo.register(ImageSources.HadoopConf.class, new JavaSerializer());
    }
}
