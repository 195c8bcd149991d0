package io.sparkdl.pipelines;

import java.io.DataInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/** Reader for IDX files (MNIST's format), plain or gzipped. */
public final class Idx {
    private Idx() {
    }

    /** n images of rows x cols uint8 pixels. */
    public record Images(byte[][] pixels, int rows, int cols) {
    }

    public static Images readImages(File f) throws IOException {
        try (DataInputStream in = new DataInputStream(open(f))) {
            if (in.readInt() != 0x803) {
                throw new IOException(f + " is not an IDX image file");
            }
            int n = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            byte[][] pix = new byte[n][rows * cols];
            for (int i = 0; i < n; i++) {
                in.readFully(pix[i]);
            }
            return new Images(pix, rows, cols);
        }
    }

    public static byte[] readLabels(File f) throws IOException {
        try (DataInputStream in = new DataInputStream(open(f))) {
            if (in.readInt() != 0x801) {
                throw new IOException(f + " is not an IDX label file");
            }
            byte[] lab = new byte[in.readInt()];
            in.readFully(lab);
            return lab;
        }
    }

    private static InputStream open(File f) throws IOException {
        InputStream in = new FileInputStream(f);
        return f.getName().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }
}
