package io.sparkdl.image;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fast path for plain JPEGs (baseline or progressive, gray or YCbCr, no Adobe colour transform; an
 * embedded RGB profile is applied after the resize by {@link IccRgb}): libjpeg-turbo through OpenCV's
 * {@code imdecode}, which computes a 1/2, 1/4 or 1/8 inverse DCT
 * when asked for a reduced image, as Pillow's {@code draft} mode does; at 1/8 a baseline JPEG is handed to
 * {@link EighthScaleJpeg} first (the same pixels, faster). The JDK's JPEG codec behind ImageIO
 * has neither SIMD nor DCT scaling and decoded photos for 224x224 at 0.6x Pillow's rate (docs/BENCHMARKS.md).
 * Everything else (CMYK/YCCK, profiles that are not RGB or cannot be read, other formats) stays with
 * ImageIO, and so does every JPEG when the native library cannot be loaded on this platform.
 */
final class NativeJpeg {
    private static final Logger LOG = LoggerFactory.getLogger(NativeJpeg.class);
    private static final boolean AVAILABLE = load();

    private NativeJpeg() {
    }

    private static boolean load() {
        try {
            Loader.load(opencv_imgcodecs.class);
            Loader.load(opencv_imgproc.class);
            // One thread per Spark task: OpenCV's own thread pool would oversubscribe the executor's cores.
            opencv_core.setNumThreads(1);
            return true;
        } catch (Throwable e) { // UnsatisfiedLinkError on a platform without the natives
            LOG.warn("OpenCV's libjpeg-turbo could not be loaded ({}); JPEGs are decoded with ImageIO (slower)",
                    e.toString());
            return false;
        }
    }

    static boolean available() {
        return AVAILABLE;
    }

    /**
     * Size and components from a JPEG's frame header, and its embedded ICC profile (null if none), which
     * the caller converts from ({@link IccRgb}).
     */
    record Header(int width, int height, int components, byte[] icc) {
        Header(int width, int height, int components) {
            this(width, height, components, null);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Header h && h.width == width && h.height == height && h.components == components
                    && java.util.Arrays.equals(h.icc, icc);
        }

        @Override
        public int hashCode() {
            return (width * 31 + height) * 31 + components;
        }

        @Override
        public String toString() {
            return width + "x" + height + "x" + components + (icc == null ? "" : " with a " + icc.length
                    + "-byte ICC profile");
        }
    }

    /**
     * The header of a JPEG this path decodes (gray or YCbCr, no Adobe transform; with or without an ICC
     * profile), or null.
     */
    static Header plainHeader(byte[] b) {
        if (b.length < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) {
            return null;
        }
        java.util.TreeMap<Integer, int[]> icc = null; // sequence number -> offset, length of the chunk's data
        try {
            int p = 2;
            while (p + 4 <= b.length && (b[p] & 0xff) == 0xFF) {
                int marker = b[p + 1] & 0xff;
                if (marker == 0xFF) {
                    p++; // fill byte
                    continue;
                }
                int len = ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
                if (marker == 0xE2 && len > 16 && startsWith(b, p + 4, "ICC_PROFILE")) {
                    if (icc == null) {
                        icc = new java.util.TreeMap<>();
                    }
                    icc.put(b[p + 16] & 0xff, new int[]{p + 18, len - 16});
                }
                if (marker == 0xEE && startsWith(b, p + 4, "Adobe")) {
                    return null; // Adobe transform flag (RGB, CMYK, YCCK): left to TwelveMonkeys
                }
                if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) {
                    int h = ((b[p + 5] & 0xff) << 8) | (b[p + 6] & 0xff);
                    int w = ((b[p + 7] & 0xff) << 8) | (b[p + 8] & 0xff);
                    int c = b[p + 9] & 0xff;
                    if ((c != 1 && c != 3) || w <= 0 || h <= 0) {
                        return null;
                    }
                    byte[] profile = null;
                    if (icc != null) {
                        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
                        for (int[] chunk : icc.values()) {
                            data.write(b, chunk[0], chunk[1]);
                        }
                        profile = data.toByteArray();
                    }
                    return new Header(w, h, c, profile);
                }
                if ((marker >= 0xC3 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
                        || marker == 0xDA) {
                    return null; // lossless, hierarchical or arithmetic-coded, or no frame header before the scan
                }
                p += 2 + len;
            }
        } catch (IndexOutOfBoundsException e) {
            return null;
        }
        return null;
    }

    /**
     * Decodes at 1/scale of the stored size (scale 1, 2, 4 or 8), then, when height > 0, area-resizes to
     * height x width. No orientation is applied here.
     *
     * @param gray one channel (luma, as libjpeg computes it) instead of BGR
     */
    static ImageCodec.Pixels decode(byte[] bytes, int scale, boolean gray, int height, int width)
            throws ImageCodec.DecodeException {
        if (scale == 8) {
            // Most of a 1/8-scale decode is skipping AC coefficients, which EighthScaleJpeg does faster, with
            // the same pixels; it returns null for what it does not cover.
            ImageCodec.Pixels eighth = EighthScaleJpeg.decode(bytes, gray);
            if (eighth != null) {
                if (height <= 0 || (eighth.height() == height && eighth.width() == width)) {
                    return eighth;
                }
                int type = eighth.channels() == 1 ? opencv_core.CV_8UC1 : opencv_core.CV_8UC3;
                try (Mat img = new Mat(eighth.height(), eighth.width(), type)) {
                    return resized(put(img, eighth.data()), height, width);
                }
            }
        }
        int flags = opencv_imgcodecs.IMREAD_IGNORE_ORIENTATION | switch (scale) {
            case 2 -> gray ? opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_2 : opencv_imgcodecs.IMREAD_REDUCED_COLOR_2;
            case 4 -> gray ? opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_4 : opencv_imgcodecs.IMREAD_REDUCED_COLOR_4;
            case 8 -> gray ? opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_8 : opencv_imgcodecs.IMREAD_REDUCED_COLOR_8;
            default -> gray ? opencv_imgcodecs.IMREAD_GRAYSCALE : opencv_imgcodecs.IMREAD_COLOR;
        };
        try (Mat buf = new Mat(1, bytes.length, opencv_core.CV_8UC1);
             Mat img = decode(put(buf, bytes), flags)) {
            if (img.empty()) {
                throw new ImageCodec.DecodeException("corrupt image: the JPEG decoder returned no pixels");
            }
            return resized(img, height, width);
        }
    }

    /** {@code img} area-resized to height x width when height > 0 and it has another size, as Pixels. */
    private static ImageCodec.Pixels resized(Mat img, int height, int width) throws ImageCodec.DecodeException {
        try (Mat sized = new Mat()) {
            Mat out = img;
            if (height > 0 && (img.rows() != height || img.cols() != width)) {
                boolean shrink = img.rows() >= height && img.cols() >= width;
                try (Size target = new Size(width, height)) {
                    // Area averaging when shrinking, linear when enlarging, like ImageCodec.resize.
                    opencv_imgproc.resize(img, sized, target, 0, 0,
                            shrink ? opencv_imgproc.INTER_AREA : opencv_imgproc.INTER_LINEAR);
                }
                out = sized;
            }
            int c = out.channels();
            byte[] px = new byte[out.rows() * out.cols() * c];
            if (!out.isContinuous()) {
                throw new ImageCodec.DecodeException("corrupt image: non-contiguous decoder output");
            }
            out.data().get(px);
            return new ImageCodec.Pixels(out.rows(), out.cols(), c, px);
        }
    }

    private static Mat put(Mat buf, byte[] bytes) {
        buf.data().put(bytes);
        return buf;
    }

    private static Mat decode(Mat buf, int flags) {
        return opencv_imgcodecs.imdecode(buf, flags);
    }

    /** Whether {@code b} holds the ASCII of {@code s} at {@code p}. */
    static boolean startsWith(byte[] b, int p, String s) {
        if (p + s.length() > b.length) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (b[p + i] != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
