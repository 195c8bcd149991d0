package io.sparkdl.image;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoding of the files in src/test/resources/photos (made by make-photos.sh there with ImageMagick, and
 * Pillow for the CMYK JPEGs with Adobe transform 0); the expected values are what ImageMagick reads from the
 * same files.
 */
class ImageCodecFormatsTest {
    /** The upright pattern's quadrants: top left red, top right lime, bottom left blue, bottom right white. */
    private static final int[][] QUADRANTS = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

    static byte[] resource(String name) throws IOException {
        try (InputStream in = ImageCodecFormatsTest.class.getResourceAsStream("/photos/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource photos/" + name);
            }
            return in.readAllBytes();
        }
    }

    /** R, G, B at (x, y). */
    static int[] rgb(ImageCodec.Pixels p, int x, int y) {
        int o = (y * p.width() + x) * p.channels();
        byte[] d = p.data();
        return p.channels() == 1 ? new int[]{d[o] & 0xff, d[o] & 0xff, d[o] & 0xff}
                : new int[]{d[o + 2] & 0xff, d[o + 1] & 0xff, d[o] & 0xff};
    }

    static void assertColour(int[] expected, int[] actual, int tolerance, String what) {
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(expected[c] - actual[c]) <= tolerance, what + ": expected about ("
                    + expected[0] + "," + expected[1] + "," + expected[2] + ") but was ("
                    + actual[0] + "," + actual[1] + "," + actual[2] + ")");
        }
    }

    /** The 32x24 pattern, upright, at the centre of each quadrant. */
    static void assertUprightPattern(ImageCodec.Pixels p, int tolerance, String what) {
        assertEquals(24, p.height(), what + " height");
        assertEquals(32, p.width(), what + " width");
        int[][] centres = {{8, 6}, {24, 6}, {8, 18}, {24, 18}};
        for (int q = 0; q < 4; q++) {
            assertColour(QUADRANTS[q], rgb(p, centres[q][0], centres[q][1]), tolerance, what + " quadrant " + q);
        }
    }

    @Test
    void everyFormatDecodesUpright() throws Exception {
        for (String f : new String[]{"pattern.png", "pattern.webp", "pattern.tiff", "pattern.bmp", "palette.png",
                "palette.bmp", "pattern.gif", "orient-1.jpg", "pattern-lossy.webp"}) {
            int tol = f.endsWith(".jpg") || f.endsWith("-lossy.webp") ? 3 : 0;
            assertUprightPattern(ImageCodec.decode(resource(f), 3), tol, f);
        }
    }

    @Test
    void everyExifOrientationIsApplied() throws Exception {
        for (int o = 1; o <= 8; o++) {
            byte[] b = resource("orient-" + o + ".jpg");
            assertEquals(o, ExifOrientation.of(b), "tag read from orient-" + o + ".jpg");
            assertUprightPattern(ImageCodec.decode(b, 0), 3, "orient-" + o + ".jpg");
        }
        byte[] tiff = resource("orient-6.tiff");
        assertEquals(6, ExifOrientation.of(tiff));
        assertUprightPattern(ImageCodec.decode(tiff, 3), 0, "orient-6.tiff");
    }

    @Test
    void orientationIsAppliedBeforeTheResize() throws Exception {
        // A portrait-tagged file resized to 16x12 (landscape target) keeps the pattern upright.
        ImageCodec.Pixels p = ImageCodec.decode(resource("orient-6.jpg"), 3, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS);
        assertEquals(12, p.height());
        assertEquals(16, p.width());
        assertColour(QUADRANTS[0], rgb(p, 3, 2), 6, "top left");
        assertColour(QUADRANTS[3], rgb(p, 12, 9), 6, "bottom right");
        // Every orientation, resized natively in its stored orientation and then turned: upright at 16x12.
        for (int o = 1; o <= 8; o++) {
            ImageCodec.Pixels q = ImageCodec.decode(resource("orient-" + o + ".jpg"), 3, 12, 16,
                    ImageCodec.DEFAULT_MAX_PIXELS);
            assertEquals(12, q.height(), "orient-" + o + ".jpg height");
            assertEquals(16, q.width(), "orient-" + o + ".jpg width");
            int[][] centres = {{4, 3}, {12, 3}, {4, 9}, {12, 9}};
            for (int c = 0; c < 4; c++) {
                assertColour(QUADRANTS[c], rgb(q, centres[c][0], centres[c][1]), 6, "orient-" + o + ".jpg at 16x12, "
                        + "quadrant " + c);
            }
        }
    }

    @Test
    void cmykJpegsDecodeAsImageMagickReadsThem() throws Exception {
        // No profile: ImageMagick reads rgb(230,30,30) stored as CMYK back as (230,29,30).
        assertColour(new int[]{230, 29, 30}, rgb(ImageCodec.decode(resource("cmyk.jpg"), 3), 8, 8), 3, "cmyk.jpg");
        // Embedded CMYK profile (Ghostscript's default_cmyk.icc): converted through it (ImageMagick: 230,52,56).
        assertColour(new int[]{230, 52, 56}, rgb(ImageCodec.decode(resource("cmyk-icc.jpg"), 3), 8, 8), 6,
                "cmyk-icc.jpg");
    }

    @Test
    void adobeCmykAndV4ProfilesDecodeAsImageMagickReadsThem() throws Exception {
        // cmyk.jpg and cmyk-icc.jpg are YCCK (Adobe transform 2, as ImageMagick writes CMYK); cmyk-adobe0.jpg holds
        // the same ink as inverted CMYK (transform 0, as Pillow and Photoshop write it): (230,29,30) again.
        byte[] plain = resource("cmyk-adobe0.jpg");
        assertEquals(null, NativeJpeg.plainHeader(plain), "Adobe transform: ImageIO");
        assertColour(new int[]{230, 29, 30}, rgb(ImageCodec.decode(plain, 3), 8, 8), 3, "cmyk-adobe0.jpg");
        // Ghostscript's ps_cmyk.icc (ICC v4) embedded, in YCCK and in plain CMYK: converted through it,
        // ImageMagick reads (227,79,48); dropping the profile (what the JPEG reader alone does, as the JDK
        // cannot re-serialise it) gives (146,20,8).
        for (String f : new String[]{"cmyk-v4icc.jpg", "cmyk-adobe0-v4icc.jpg"}) {
            assertColour(new int[]{227, 79, 48}, rgb(ImageCodec.decode(resource(f), 3), 8, 8), 4, f);
            ImageCodec.Pixels gray = ImageCodec.decode(resource(f), 1);
            assertEquals(ImageCodec.luminance(227, 79, 48), gray.data()[8 * 16 + 8] & 0xff, 4, f + " gray");
        }
    }

    @Test
    void embeddedRgbProfileIsConvertedToSrgb() throws Exception {
        // Stored as Adobe RGB (197,34,35); in sRGB that is (229,28,29) (ImageMagick), i.e. the rgb(230,30,30) made.
        for (String f : new String[]{"adobe-rgb.jpg", "adobe-rgb.png", "adobe-rgb.webp"}) {
            assertColour(new int[]{229, 28, 29}, rgb(ImageCodec.decode(resource(f), 3), 8, 8), 3, f);
        }
    }

    @Test
    void rgbProfilesAreAppliedOnTheNativePath() throws Exception {
        // pattern-srgb.jpg embeds Ghostscript's srgb.icc: recognised as sRGB, nothing converted.
        byte[] srgb = resource("pattern-srgb.jpg");
        NativeJpeg.Header h = NativeJpeg.plainHeader(srgb);
        assertTrue(h != null && h.icc() != null && h.icc().length == 2576, "native path with the profile: " + h);
        assertTrue(IccRgb.of(h.icc()).srgb(), "srgb.icc is sRGB");
        assertUprightPattern(ImageCodec.decode(srgb, 3), 3, "pattern-srgb.jpg");

        // gradient-a98.jpg (64x48, Adobe RGB): converted after the native resize; the ImageIO path converts
        // before its resize. Both agree, and at full size with ImageMagick's reading at both ends.
        byte[] a98 = resource("gradient-a98.jpg");
        IccRgb.Kind k = IccRgb.of(NativeJpeg.plainHeader(a98).icc());
        assertTrue(!k.srgb() && IccRgb.usable(k), "a98.icc is converted from");
        ImageCodec.Pixels full = ImageCodec.decode(a98, 3);
        assertColour(new int[]{28, 90, 207}, rgb(full, 4, 24), 4, "gradient-a98.jpg left");
        assertColour(new int[]{218, 62, 29}, rgb(full, 60, 24), 4, "gradient-a98.jpg right");
        ImageCodec.Pixels nat = ImageCodec.decode(a98, 3, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS);
        ImageCodec.Pixels io = ImageCodec.decodeWithImageIO(a98, 3, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS, 1);
        double sum = 0;
        for (int i = 0; i < nat.data().length; i++) {
            int d = Math.abs((nat.data()[i] & 0xff) - (io.data()[i] & 0xff));
            assertTrue(d <= 4, "byte " + i + ": native " + (nat.data()[i] & 0xff) + ", ImageIO " + (io.data()[i] & 0xff));
            sum += d;
        }
        assertTrue(sum / nat.data().length < 1.5, "mean difference " + sum / nat.data().length);
        // Gray from a profiled JPEG is the luminance of the converted colour, not the stored luma.
        ImageCodec.Pixels gray = ImageCodec.decode(a98, 1, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS);
        int[] c = rgb(nat, 14, 6);
        assertEquals(ImageCodec.luminance(c[0], c[1], c[2]), gray.data()[6 * 16 + 14] & 0xff, 1);
    }

    @Test
    void profileConversionsAgreeAcrossThreads() throws Exception {
        // Executors decode in several task threads; each keeps its own conversion (IccRgb), all give the same.
        byte[] a98 = resource("gradient-a98.jpg");
        byte[] expected = ImageCodec.decode(a98, 3, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS).data();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<byte[]>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 64; i++) {
                results.add(pool.submit(() -> ImageCodec.decode(a98, 3, 12, 16, ImageCodec.DEFAULT_MAX_PIXELS).data()));
            }
            for (java.util.concurrent.Future<byte[]> r : results) {
                assertTrue(java.util.Arrays.equals(expected, r.get()), "a thread's decode differs");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void sixteenBitSamplesScaleToEightBits() throws Exception {
        // #1234 #5678 #9ABC -> 18, 86, 154; gray 20000/65535 -> 78
        assertColour(new int[]{18, 86, 154}, rgb(ImageCodec.decode(resource("rgb16.png"), 3), 4, 4), 1, "rgb16.png");
        ImageCodec.Pixels g = ImageCodec.decode(resource("gray16.png"), 0);
        assertEquals(1, g.channels());
        assertEquals(78, g.data()[4 * 8 + 4] & 0xff, "gray16.png");
    }

    @Test
    void alphaIsCompositedOverWhite() throws Exception {
        // rgba(200,40,10,0.5) over white: (227,147,132) as ImageMagick's -background white -flatten gives.
        assertColour(new int[]{227, 147, 132}, rgb(ImageCodec.decode(resource("alpha.png"), 3), 4, 4), 1, "alpha.png");
        // graya(51, 0.25) over white: 203
        ImageCodec.Pixels g = ImageCodec.decode(resource("gray-alpha.png"), 0);
        assertEquals(1, g.channels());
        assertTrue(Math.abs(203 - (g.data()[4 * 8 + 4] & 0xff)) <= 1, "gray-alpha.png: " + (g.data()[36] & 0xff));
    }

    @Test
    void webpAlphaIsCompositedOverWhite() throws Exception {
        // rgba(200,40,10,0.5) in lossless WebP and in lossy WebP (an ALPH chunk): ImageMagick flattened over
        // white reads (228,148,133) and (229,148,133).
        assertColour(new int[]{228, 148, 133}, rgb(ImageCodec.decode(resource("alpha-lossless.webp"), 3), 4, 4), 1,
                "alpha-lossless.webp");
        assertColour(new int[]{229, 148, 133}, rgb(ImageCodec.decode(resource("alpha-lossy.webp"), 3), 4, 4), 3,
                "alpha-lossy.webp");
    }

    @Test
    void sixteenBitTiffsScaleToEightBits() throws Exception {
        // Uncompressed RGB #123456789ABC -> (18,86,154); zip-compressed RGBA 16-bit rgba(200,40,10,0.5) over white.
        assertColour(new int[]{18, 86, 154}, rgb(ImageCodec.decode(resource("rgb16.tiff"), 3), 4, 4), 1, "rgb16.tiff");
        assertColour(new int[]{227, 147, 132}, rgb(ImageCodec.decode(resource("rgba16.tiff"), 3), 4, 4), 1,
                "rgba16.tiff");
    }

    @Test
    void paletteTransparencyIsCompositedOverWhite() throws Exception {
        // The pattern as a palette PNG whose blue entry is transparent (tRNS): that quadrant shows white.
        ImageCodec.Pixels p = ImageCodec.decode(resource("palette-alpha.png"), 3);
        assertColour(QUADRANTS[0], rgb(p, 8, 6), 0, "palette-alpha.png top left");
        assertColour(QUADRANTS[1], rgb(p, 24, 6), 0, "palette-alpha.png top right");
        assertColour(new int[]{255, 255, 255}, rgb(p, 8, 18), 0, "palette-alpha.png transparent bottom left");
    }

    @Test
    void gifGivesItsFirstFrame() throws Exception {
        // The second frame is the mirror image: a decoder reading it would fail the quadrant check.
        assertUprightPattern(ImageCodec.decode(resource("pattern.gif"), 3), 0, "pattern.gif");
    }

    @Test
    void bombHeaderIsRefusedBeforeDecoding() throws Exception {
        byte[] bomb = resource("bomb.png");
        assertTrue(bomb.length < 100_000, "the bomb is a small file");
        ImageCodec.DecodeException e = assertThrows(ImageCodec.DecodeException.class,
                () -> ImageCodec.decode(bomb, 1));
        assertTrue(e.getMessage().contains("20000x20000") && e.getMessage().contains("maxPixels"), e.getMessage());
        // The limit is the caller's: a lower one refuses the small pattern too.
        e = assertThrows(ImageCodec.DecodeException.class,
                () -> ImageCodec.decode(resource("pattern.png"), 3, 0, 0, 32 * 24 - 1));
        assertTrue(e.getMessage().contains("32x24"), e.getMessage());
        assertEquals(32, ImageCodec.decode(resource("pattern.png"), 3, 0, 0, 32 * 24).width());
    }

    @Test
    void heicIsABadFileWithItsReason() throws Exception {
        ImageCodec.DecodeException e = assertThrows(ImageCodec.DecodeException.class,
                () -> ImageCodec.decode(resource("pattern.heic"), 3));
        assertTrue(e.getMessage().contains("HEIC") && e.getMessage().contains("heic"), e.getMessage());
    }

    @Test
    void bigPhotoIsSubsampledThenAreaResized() throws Exception {
        // A 2000x1500 JPEG bound for 28x21: read with subsampling, then averaged; the two halves keep their
        // colours and the result has the target size.
        java.awt.image.BufferedImage big = new java.awt.image.BufferedImage(2000, 1500,
                java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        java.awt.Graphics2D g = big.createGraphics();
        g.setColor(new java.awt.Color(200, 30, 30));
        g.fillRect(0, 0, 1000, 1500);
        g.setColor(new java.awt.Color(30, 30, 200));
        g.fillRect(1000, 0, 1000, 1500);
        g.dispose();
        byte[] jpg = ImageCodecTest.encode(big, "jpeg");
        ImageCodec.Pixels p = ImageCodec.decode(jpg, 3, 21, 28, ImageCodec.DEFAULT_MAX_PIXELS);
        assertEquals(21, p.height());
        assertEquals(28, p.width());
        assertColour(new int[]{200, 30, 30}, rgb(p, 3, 10), 6, "left half");
        assertColour(new int[]{30, 30, 200}, rgb(p, 24, 10), 6, "right half");
    }

    @Test
    void plainJpegsTakeTheNativePathAndAgreeWithImageIO() throws Exception {
        assertTrue(NativeJpeg.available(), "OpenCV's natives load on linux-x86_64");
        assertEquals(new NativeJpeg.Header(24, 32, 3), NativeJpeg.plainHeader(resource("orient-6.jpg")));
        assertEquals(null, NativeJpeg.plainHeader(resource("cmyk.jpg")), "Adobe transform: ImageIO");
        assertEquals(3, NativeJpeg.plainHeader(resource("adobe-rgb.jpg")).components(), "RGB profile: native");
        assertEquals(null, NativeJpeg.plainHeader(resource("pattern.png")));

        // A smooth 640x480 scene with edges, to 64x48 (read at 1/4 natively, subsampled by 6 in ImageIO).
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(640, 480,
                java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        java.awt.Graphics2D g = img.createGraphics();
        g.setPaint(new java.awt.GradientPaint(0, 0, new java.awt.Color(30, 90, 200), 0, 480,
                new java.awt.Color(220, 180, 60)));
        g.fillRect(0, 0, 640, 480);
        g.setColor(new java.awt.Color(20, 120, 40));
        g.fillOval(100, 200, 300, 200);
        g.dispose();
        byte[] jpg = ImageCodecTest.encode(img, "jpeg");
        ImageCodec.Pixels a = ImageCodec.decode(jpg, 3, 48, 64, ImageCodec.DEFAULT_MAX_PIXELS);
        ImageCodec.Pixels b = ImageCodec.decodeWithImageIO(jpg, 3, 48, 64, ImageCodec.DEFAULT_MAX_PIXELS, 1);
        assertEquals(48, a.height());
        assertEquals(64, a.width());
        double sum = 0;
        for (int i = 0; i < a.data().length; i++) {
            sum += Math.abs((a.data()[i] & 0xff) - (b.data()[i] & 0xff));
        }
        assertTrue(sum / a.data().length < 3, "mean difference between the two paths: " + sum / a.data().length);
        ImageCodec.Pixels gray = ImageCodec.decode(jpg, 1, 48, 64, ImageCodec.DEFAULT_MAX_PIXELS);
        assertEquals(1, gray.channels());
        int[] c = rgb(a, 10, 40);
        assertEquals(ImageCodec.luminance(c[0], c[1], c[2]), gray.data()[40 * 64 + 10] & 0xff, 3);
        // The pixel limit holds on this path too.
        assertThrows(ImageCodec.DecodeException.class, () -> ImageCodec.decode(jpg, 3, 0, 0, 640 * 480 - 1));
    }
}
