package io.sparkdl.io;

import com.esotericsoftware.kryo.Kryo;

/**
 * Kryo registrations that a package contributes for its own classes. {@link Nd4jKryoRegistrator} finds
 * them through {@link java.util.ServiceLoader} ({@code META-INF/services/io.sparkdl.io.KryoRegistration}),
 * so io/, which every package uses, names none of the classes above it, and the one registrator users
 * configure still registers them all.
 */
public interface KryoRegistration {
    void registerClasses(Kryo kryo);
}
