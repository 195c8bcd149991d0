package io.sparkdl.image;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link EighthScaleJpeg} against libjpeg-turbo (OpenCV's {@code imdecode} with IMREAD_REDUCED_*_8) on JPEGs
 * made here by libjpeg-turbo's encoder with every chroma subsampling it writes, restart markers, optimised
 * and standard Huffman tables, qualities from 30 to 100, sizes that are not multiples of the MCU, and
 * scenes from smooth to pure noise (noise at quality 100 takes the standard tables' 16-bit codes, past
 * the lookup tables): the same pixels, bit for bit, colour and gray.
 */
class EighthScaleJpegTest {
    private static final int[] SAMPLINGS = {
        opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_411, opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_422, opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_440,
        opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    };

    @BeforeAll
    static void natives() {
        assertTrue(NativeJpeg.available(), "OpenCV's natives load on linux-x86_64");
    }

    /** A BGR (or gray) scene: a gradient, rectangles and discs, and per-pixel noise of +-noise/2. */
    static Mat scene(int width, int height, int channels, int noise, long seed) {
        Random r = new Random(seed);
        byte[] px = new byte[width * height * channels];
        int[][] shapes = new int[12][];
        for (int i = 0; i < shapes.length; i++) {
            shapes[i] = new int[]{r.nextInt(width), r.nextInt(height), 4 + r.nextInt(Math.max(5, width / 4)),
                r.nextInt(256), r.nextInt(256), r.nextInt(256), r.nextInt(2)};
        }
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int[] c = {x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height) + 60};
                for (int[] s : shapes) {
                    int dx = x - s[0];
                    int dy = y - s[1];
                    boolean in = s[6] == 0 ? dx * dx + dy * dy < s[2] * s[2] : Math.abs(dx) < s[2] && Math.abs(dy) < s[2] / 2;
                    if (in) {
                        c = new int[]{s[3], s[4], s[5]};
                    }
                }
                for (int k = 0; k < channels; k++) {
                    int v = c[k] + (noise > 0 ? r.nextInt(noise + 1) - noise / 2 : 0);
                    px[(y * width + x) * channels + k] = (byte) Math.max(0, Math.min(255, v));
                }
            }
        }
        Mat m = new Mat(height, width, channels == 1 ? opencv_core.CV_8UC1 : opencv_core.CV_8UC3);
        m.data().put(px);
        return m;
    }

    /** libjpeg-turbo's encoding of {@code img}; params are OpenCV's IMWRITE_* pairs. */
    static byte[] encode(Mat img, int... params) {
        try (BytePointer out = new BytePointer(); IntPointer p = new IntPointer(params)) {
            assertTrue(opencv_imgcodecs.imencode(".jpg", img, out, p), "imencode");
            byte[] b = new byte[(int) out.limit()];
            out.get(b);
            return b;
        }
    }

    /** libjpeg-turbo's decoding at 1/8 scale. */
    static ImageCodec.Pixels reference(byte[] jpg, boolean gray) {
        return reference(jpg, gray, "");
    }

    /** libjpeg-turbo's decoding at 1/8 scale; fails (naming {@code what}) when libjpeg-turbo refuses the file. */
    static ImageCodec.Pixels reference(byte[] jpg, boolean gray, String what) {
        int flags = opencv_imgcodecs.IMREAD_IGNORE_ORIENTATION
                | (gray ? opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_8 : opencv_imgcodecs.IMREAD_REDUCED_COLOR_8);
        try (Mat buf = new Mat(1, jpg.length, opencv_core.CV_8UC1)) {
            buf.data().put(jpg);
            try (Mat img = opencv_imgcodecs.imdecode(buf, flags)) {
                assertTrue(!img.empty(), "libjpeg-turbo refuses " + what);
                byte[] px = new byte[img.rows() * img.cols() * img.channels()];
                img.data().get(px);
                return new ImageCodec.Pixels(img.rows(), img.cols(), img.channels(), px);
            }
        }
    }

    static void assertSame(byte[] jpg, String what) {
        for (boolean gray : new boolean[]{false, true}) {
            ImageCodec.Pixels mine = EighthScaleJpeg.decode(jpg, gray);
            assertNotNull(mine, what + (gray ? " gray" : "") + ": not decoded");
            ImageCodec.Pixels ref = reference(jpg, gray);
            String w = what + (gray ? " gray" : " colour");
            assertEquals(ref.height() + "x" + ref.width() + "x" + ref.channels(),
                    mine.height() + "x" + mine.width() + "x" + mine.channels(), w + ": size");
            assertArrayEquals(ref.data(), mine.data(), w + ": pixels");
        }
    }

    @Test
    void samePixelsAsLibjpegTurboForEverySamplingAndTable() {
        int n = 0;
        for (int sampling : SAMPLINGS) {
            for (int restart : new int[]{0, 3}) {
                for (int optimize : new int[]{0, 1}) {
                    int w = 203 + 17 * n % 60;
                    int h = 157 + 29 * n % 50;
                    try (Mat img = scene(w, h, 3, 40, n)) {
                        byte[] jpg = encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 30 + 10 * (n % 7),
                                opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR, sampling,
                                opencv_imgcodecs.IMWRITE_JPEG_RST_INTERVAL, restart,
                                opencv_imgcodecs.IMWRITE_JPEG_OPTIMIZE, optimize);
                        assertSame(jpg, String.format("%dx%d sampling %x restart %d optimize %d", w, h, sampling,
                                restart, optimize));
                    }
                    n++;
                }
            }
        }
    }

    @Test
    void samePixelsForNoiseAtQuality100GrayAndSmooth() {
        for (int sampling : new int[]{opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_420,
            opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR_444}) {
            try (Mat img = scene(240, 180, 3, 255, sampling)) { // pure noise: large coefficients, long codes
                assertSame(encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 100,
                        opencv_imgcodecs.IMWRITE_JPEG_SAMPLING_FACTOR, sampling), "noise q100 " + sampling);
            }
        }
        try (Mat img = scene(333, 251, 1, 30, 7)) {
            assertSame(encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 85), "one-component JPEG");
        }
        try (Mat img = scene(1024, 768, 3, 0, 8)) { // flat areas: mostly end-of-block symbols
            assertSame(encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90), "smooth 1024x768");
        }
        try (Mat img = scene(8, 8, 3, 10, 9)) {
            assertSame(encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90), "a single MCU");
        }
    }

    @Test
    void leavesToLibjpegWhatItDoesNotCover() {
        try (Mat img = scene(240, 180, 3, 40, 11)) {
            byte[] progressive = encode(img, opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
            assertNull(EighthScaleJpeg.decode(progressive, false), "progressive");

            byte[] plain = encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90);
            assertNotNull(EighthScaleJpeg.decode(plain, false));
            assertNull(EighthScaleJpeg.decode(Arrays.copyOf(plain, plain.length * 2 / 3), false),
                    "data that ends early");
            assertNull(EighthScaleJpeg.decode(Arrays.copyOf(plain, 200), false), "headers only");
            assertNull(EighthScaleJpeg.decode(new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, false), "no frame");
            assertNull(EighthScaleJpeg.decode(Arrays.copyOf(plain, plain.length - 2), false), "no end of image");
            byte[] strayRestart = plain.clone();
            int data = indexOf(plain, 0xDA, 0) + 40;
            strayRestart[data] = (byte) 0xFF;
            strayRestart[data + 1] = (byte) 0xD0;
            assertNull(EighthScaleJpeg.decode(strayRestart, false), "a restart marker in a file without restarts");

            byte[] restarts = encode(img, opencv_imgcodecs.IMWRITE_JPEG_RST_INTERVAL, 2);
            assertNotNull(EighthScaleJpeg.decode(restarts, false));
            int sos = indexOf(restarts, 0xDA, 0);
            int rst = indexOf(restarts, 0xD1, sos); // the second restart marker
            byte[] wrongOrder = restarts.clone();
            wrongOrder[rst + 1] = (byte) 0xD4;
            assertNull(EighthScaleJpeg.decode(wrongOrder, false), "restart markers out of order");

            // Huffman data no table decodes: all ones after the scan header.
            byte[] garbage = plain.clone();
            int start = indexOf(garbage, 0xDA, 0) + 2 + (((garbage[indexOf(garbage, 0xDA, 0) + 2] & 0xff) << 8)
                    | (garbage[indexOf(garbage, 0xDA, 0) + 3] & 0xff));
            for (int i = start; i < start + 64; i += 2) {
                garbage[i] = (byte) 0xFF;
                garbage[i + 1] = 0;
            }
            // Either refused, or decoded to what libjpeg-turbo makes of it.
            ImageCodec.Pixels mine = EighthScaleJpeg.decode(garbage, false);
            if (mine != null) {
                assertArrayEquals(reference(garbage, false).data(), mine.data(), "garbage");
            }
        }
    }

    @Test
    void damagedFilesAreRefusedOrGiveLibjpegTurbosPixels() {
        try (Mat img = scene(240, 180, 3, 40, 13)) {
            byte[] plain = encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 80,
                    opencv_imgcodecs.IMWRITE_JPEG_RST_INTERVAL, 4);
            Random r = new Random(5);
            int decoded = 0;
            for (int i = 0; i < 300; i++) {
                byte[] b = plain.clone();
                StringBuilder what = new StringBuilder();
                for (int f = 0; f <= r.nextInt(4); f++) { // headers (first 700 bytes) a third of the time
                    int at = r.nextInt(i % 3 == 0 ? 700 : b.length);
                    b[at] = (byte) r.nextInt(256);
                    what.append(String.format(" [%d] %02x->%02x", at, plain[at] & 0xff, b[at] & 0xff));
                }
                ImageCodec.Pixels mine = EighthScaleJpeg.decode(b, false);
                if (mine != null) {
                    decoded++;
                    assertArrayEquals(reference(b, false, "damaged copy " + i + what).data(), mine.data(), "damaged copy " + i + what);
                }
            }
            assertTrue(decoded > 30 && decoded < 300, decoded + " of 300 damaged copies decoded");
        }
    }

    @Test
    void bigPhotosDecodeThroughImageCodecAsWithLibjpegAlone() throws Exception {
        // 2400x1800 to 150x112: read at 1/8 (300x225), then area-resized, as OpenCV alone does it.
        try (Mat img = scene(2400, 1800, 3, 30, 12)) {
            byte[] jpg = encode(img, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90);
            ImageCodec.Pixels p = ImageCodec.decode(jpg, 3, 112, 150, ImageCodec.DEFAULT_MAX_PIXELS);
            ImageCodec.Pixels eighth = reference(jpg, false);
            assertEquals(300, eighth.width());
            try (Mat m = new Mat(eighth.height(), eighth.width(), opencv_core.CV_8UC3); Mat out = new Mat();
                 Size size = new Size(150, 112)) {
                m.data().put(eighth.data());
                opencv_imgproc.resize(m, out, size, 0, 0, opencv_imgproc.INTER_AREA);
                byte[] expected = new byte[112 * 150 * 3];
                out.data().get(expected);
                assertArrayEquals(expected, p.data());
            }
        }
    }

    private static int indexOf(byte[] b, int marker, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if ((b[i] & 0xff) == 0xFF && (b[i + 1] & 0xff) == marker) {
                return i;
            }
        }
        throw new AssertionError("no marker " + Integer.toHexString(marker));
    }
}
