package io.sparkdl.image;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Decoding and pixel conversions on compact uint8 arrays.
 *
 * <p>Pixels are kept in Spark's image layout (row-major, interleaved channels, BGR order for colour,
 * one byte per value) so decoded images and images from Spark's {@code image} source look the same.
 * Nothing here allocates a double per pixel.
 */
public final class ImageCodec {
    static {
        // Decoding runs in executor threads; ImageIO's disk cache only slows small in-memory reads.
        ImageIO.setUseCache(false);
    }

    private ImageCodec() {
    }

    /** Pixels of one image: height x width x channels bytes, channels 1 (gray) or 3 (BGR). */
    public record Pixels(int height, int width, int channels, byte[] data) {
        public Pixels {
            if (channels != 1 && channels != 3) {
                throw new IllegalArgumentException("channels must be 1 or 3 but was " + channels);
            }
            if (data.length != (long) height * width * channels) {
                throw new IllegalArgumentException("pixel buffer has " + data.length + " bytes, expected "
                        + height + "x" + width + "x" + channels);
            }
        }
    }

    /** Thrown for input that is not a decodable image; the message is the reason shown to users. */
    public static final class DecodeException extends Exception {
        public DecodeException(String reason) {
            super(reason);
        }
    }

    /**
     * Decodes PNG, JPEG, BMP or GIF bytes (format found from the content, not the file name).
     *
     * @param channels 1 (gray), 3 (colour) or 0 to keep the source's (gray stays gray, all else colour)
     */
    public static Pixels decode(byte[] bytes, int channels) throws DecodeException {
        if (bytes == null || bytes.length == 0) {
            throw new DecodeException("empty file");
        }
        BufferedImage img;
        try {
            // ImageIO.read closes the stream it is given.
            img = ImageIO.read(new ByteArrayInputStream(bytes));
        } catch (IOException | RuntimeException e) {
            throw new DecodeException("corrupt image: " + firstLine(e));
        }
        if (img == null) {
            throw new DecodeException("not an image in a supported format (PNG, JPEG, BMP, GIF)");
        }
        if (img.getWidth() <= 0 || img.getHeight() <= 0) {
            throw new DecodeException("image has no pixels");
        }
        return fromBufferedImage(img, channels);
    }

    static Pixels fromBufferedImage(BufferedImage img, int channels) {
        int w = img.getWidth();
        int h = img.getHeight();
        boolean gray = img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        int outC = channels == 0 ? (gray ? 1 : 3) : channels;
        byte[] out = new byte[w * h * outC];
        if (gray) {
            // Read gray samples directly: getRGB() would push linear gray through an sRGB conversion.
            Raster r = img.getRaster();
            int bits = img.getColorModel().getComponentSize(0);
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = bits == 8 ? row[x] : (int) Math.round(row[x] * 255.0 / ((1 << bits) - 1));
                    int o = (y * w + x) * outC;
                    for (int c = 0; c < outC; c++) {
                        out[o + c] = (byte) v;
                    }
                }
            }
        } else {
            // getRGB handles palettes, 16-bit and alpha; alpha is dropped (as PIL's convert('RGB') does).
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) {
                    int p = argb[x];
                    int rr = (p >> 16) & 0xff;
                    int gg = (p >> 8) & 0xff;
                    int bb = p & 0xff;
                    int o = (y * w + x) * outC;
                    if (outC == 1) {
                        out[o] = (byte) luminance(rr, gg, bb);
                    } else {
                        out[o] = (byte) bb;
                        out[o + 1] = (byte) gg;
                        out[o + 2] = (byte) rr;
                    }
                }
            }
        }
        return new Pixels(h, w, outC, out);
    }

    static int luminance(int r, int g, int b) {
        return (int) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }

    /**
     * Converts interleaved pixels with {@code srcChannels} (1, 3 BGR or 4 BGRA as in Spark's image
     * source) to {@code channels} (1 or 3).
     */
    public static Pixels convertChannels(int height, int width, int srcChannels, byte[] data, int channels) {
        if (srcChannels == channels) {
            return new Pixels(height, width, channels, data);
        }
        int n = height * width;
        byte[] out = new byte[n * channels];
        for (int i = 0; i < n; i++) {
            int s = i * srcChannels;
            if (srcChannels == 1) {
                byte v = data[s];
                for (int c = 0; c < channels; c++) {
                    out[i * channels + c] = v;
                }
            } else if (channels == 1) {
                out[i] = (byte) luminance(data[s + 2] & 0xff, data[s + 1] & 0xff, data[s] & 0xff);
            } else {
                out[i * 3] = data[s];
                out[i * 3 + 1] = data[s + 1];
                out[i * 3 + 2] = data[s + 2];
            }
        }
        return new Pixels(height, width, channels, out);
    }

    /**
     * Resizes interleaved uint8 pixels. Separable filter: area averaging when shrinking (no aliasing
     * on large reductions), linear interpolation with pixel-centre alignment when enlarging.
     */
    public static Pixels resize(Pixels src, int newHeight, int newWidth) {
        if (newHeight <= 0 || newWidth <= 0) {
            throw new IllegalArgumentException("target size must be positive but was " + newHeight + "x" + newWidth);
        }
        if (src.height() == newHeight && src.width() == newWidth) {
            return src;
        }
        int c = src.channels();
        Filter fx = Filter.of(src.width(), newWidth);
        Filter fy = Filter.of(src.height(), newHeight);
        // Horizontal pass into floats, then vertical pass into bytes.
        float[] tmp = new float[src.height() * newWidth * c];
        byte[] s = src.data();
        for (int y = 0; y < src.height(); y++) {
            int rowBase = y * src.width() * c;
            for (int x = 0; x < newWidth; x++) {
                int start = fx.start[x];
                float[] wts = fx.weights[x];
                for (int ch = 0; ch < c; ch++) {
                    float acc = 0;
                    for (int k = 0; k < wts.length; k++) {
                        acc += wts[k] * (s[rowBase + (start + k) * c + ch] & 0xff);
                    }
                    tmp[(y * newWidth + x) * c + ch] = acc;
                }
            }
        }
        byte[] out = new byte[newHeight * newWidth * c];
        for (int y = 0; y < newHeight; y++) {
            int start = fy.start[y];
            float[] wts = fy.weights[y];
            for (int x = 0; x < newWidth; x++) {
                for (int ch = 0; ch < c; ch++) {
                    float acc = 0;
                    for (int k = 0; k < wts.length; k++) {
                        acc += wts[k] * tmp[((start + k) * newWidth + x) * c + ch];
                    }
                    int v = Math.round(acc);
                    out[(y * newWidth + x) * c + ch] = (byte) Math.max(0, Math.min(255, v));
                }
            }
        }
        return new Pixels(newHeight, newWidth, c, out);
    }

    /** 1-D resampling weights: for each output index, the first input index and the weights from there. */
    private static final class Filter {
        final int[] start;
        final float[][] weights;

        private Filter(int n) {
            start = new int[n];
            weights = new float[n][];
        }

        static Filter of(int in, int out) {
            Filter f = new Filter(out);
            double scale = (double) in / out;
            for (int o = 0; o < out; o++) {
                if (scale >= 1.0) {
                    double lo = o * scale;
                    double hi = lo + scale;
                    int first = (int) Math.floor(lo);
                    int last = Math.min(in - 1, (int) Math.ceil(hi) - 1);
                    float[] w = new float[last - first + 1];
                    for (int i = first; i <= last; i++) {
                        double cover = Math.min(hi, i + 1) - Math.max(lo, i);
                        w[i - first] = (float) (cover / scale);
                    }
                    f.start[o] = first;
                    f.weights[o] = w;
                } else {
                    double centre = (o + 0.5) * scale - 0.5;
                    int i0 = (int) Math.floor(centre);
                    double t = centre - i0;
                    int a = Math.max(0, Math.min(in - 1, i0));
                    int b = Math.max(0, Math.min(in - 1, i0 + 1));
                    if (a == b) {
                        f.start[o] = a;
                        f.weights[o] = new float[]{1f};
                    } else {
                        f.start[o] = a;
                        f.weights[o] = new float[]{(float) (1 - t), (float) t};
                    }
                }
            }
            return f;
        }
    }

    /**
     * Planar RGB (or gray) bytes in network order (channels x height x width) from interleaved
     * Spark-layout pixels (BGR), converting channels and resizing as needed.
     */
    public static byte[] toPlanar(Pixels px, int channels, int height, int width) {
        Pixels p = convertChannels(px.height(), px.width(), px.channels(), px.data(), channels);
        p = resize(p, height, width);
        byte[] out = new byte[channels * height * width];
        int plane = height * width;
        byte[] d = p.data();
        for (int i = 0; i < plane; i++) {
            if (channels == 1) {
                out[i] = d[i];
            } else {
                // BGR interleaved -> R, G, B planes
                out[i] = d[i * 3 + 2];
                out[plane + i] = d[i * 3 + 1];
                out[2 * plane + i] = d[i * 3];
            }
        }
        return out;
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
