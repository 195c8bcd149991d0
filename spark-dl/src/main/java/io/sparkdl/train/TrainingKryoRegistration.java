package io.sparkdl.train;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkdl.io.KryoRegistration;

/** Kryo for train/'s payloads: the cached {@link ImageBlock}s (found by {@code Nd4jKryoRegistrator}). */
public final class TrainingKryoRegistration implements KryoRegistration {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(ImageBlock.class, new ImageBlockSerializer());
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
