package io.sparkdl.io;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;

/**
 * Stands in for a deserialization gadget: its {@code readObject} records that it ran, so a test can prove
 * whether a loader handed a file's bytes to {@code ObjectInputStream}.
 */
public final class DeserializationMarker implements Serializable {
    private static final long serialVersionUID = 1L;
    static volatile boolean ran;

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        ran = true;
    }
}
