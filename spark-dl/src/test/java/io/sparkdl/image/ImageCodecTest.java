package io.sparkdl.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageCodecTest {
    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
        return out.toByteArray();
    }

    static BufferedImage rgb(int w, int h, Color c) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, c.getRGB());
            }
        }
        return img;
    }

    @Test
    void decodesEveryFormatToBgr() throws Exception {
        for (String fmt : new String[]{"png", "bmp", "gif", "jpeg"}) {
            ImageCodec.Pixels p = ImageCodec.decode(encode(rgb(9, 7, new Color(200, 40, 10)), fmt), 0);
            assertEquals(7, p.height(), fmt);
            assertEquals(9, p.width(), fmt);
            assertEquals(3, p.channels(), fmt);
            int tol = fmt.equals("jpeg") ? 12 : 0;
            assertTrue(Math.abs((p.data()[0] & 0xff) - 10) <= tol, fmt + " blue first");
            assertTrue(Math.abs((p.data()[2] & 0xff) - 200) <= tol, fmt + " red last");
        }
    }

    @Test
    void grayStaysExactAndConvertsToThreeChannels() throws Exception {
        BufferedImage g = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        byte[] values = new byte[64];
        for (int i = 0; i < 64; i++) {
            values[i] = (byte) (i * 4);
        }
        g.getRaster().setDataElements(0, 0, 8, 8, values);
        byte[] png = encode(g, "png");
        ImageCodec.Pixels p = ImageCodec.decode(png, 0);
        assertEquals(1, p.channels());
        assertArrayEquals(values, p.data(), "gray values must not go through an sRGB conversion");
        ImageCodec.Pixels c = ImageCodec.decode(png, 3);
        assertEquals(3, c.channels());
        assertEquals(values[10], c.data()[30]);
        assertEquals(values[10], c.data()[32]);
    }

    @Test
    void rgbaAndPaletteImagesDecode() throws Exception {
        BufferedImage a = new BufferedImage(5, 4, BufferedImage.TYPE_INT_ARGB);
        a.setRGB(0, 0, new Color(10, 20, 30, 128).getRGB());
        ImageCodec.Pixels p = ImageCodec.decode(encode(a, "png"), 0);
        assertEquals(3, p.channels());
        // composited over white: 30 * 128/255 + 255 * 127/255
        assertEquals(142, p.data()[0] & 0xff, 1);
        assertEquals(255, p.data()[3] & 0xff, "fully transparent pixels are white");

        IndexColorModel palette = new IndexColorModel(2, 2, new byte[]{0, (byte) 255}, new byte[]{0, 0},
                new byte[]{0, 0});
        BufferedImage ix = new BufferedImage(6, 6, BufferedImage.TYPE_BYTE_INDEXED, palette);
        ix.getRaster().setSample(1, 0, 0, 1);
        ImageCodec.Pixels q = ImageCodec.decode(encode(ix, "png"), 1);
        assertEquals(1, q.channels());
        assertEquals(ImageCodec.luminance(255, 0, 0), q.data()[1] & 0xff);
    }

    @Test
    void badInputGivesReasons() {
        assertEquals("empty file", assertThrows(ImageCodec.DecodeException.class,
                () -> ImageCodec.decode(new byte[0], 0)).getMessage());
        assertTrue(assertThrows(ImageCodec.DecodeException.class,
                () -> ImageCodec.decode("hello, not an image".getBytes(), 0)).getMessage().contains("not an image"));
    }

    @Test
    void truncatedPngIsReportedNotThrownRaw() throws Exception {
        byte[] png = encode(rgb(40, 40, Color.BLUE), "png");
        byte[] cut = java.util.Arrays.copyOf(png, png.length / 2);
        ImageCodec.DecodeException e = assertThrows(ImageCodec.DecodeException.class, () -> ImageCodec.decode(cut, 0));
        assertTrue(e.getMessage().startsWith("corrupt image") || e.getMessage().startsWith("not an image"),
                e.getMessage());
    }

    @Test
    void resizeAveragesWhenShrinkingAndKeepsConstants() {
        byte[] d = new byte[4 * 4];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                d[y * 4 + x] = (byte) (x < 2 ? 0 : 200);
            }
        }
        ImageCodec.Pixels p = ImageCodec.resize(new ImageCodec.Pixels(4, 4, 1, d), 2, 2);
        assertArrayEquals(new byte[]{0, (byte) 200, 0, (byte) 200}, p.data());
        ImageCodec.Pixels half = ImageCodec.resize(new ImageCodec.Pixels(4, 4, 1, d), 1, 1);
        assertEquals(100, half.data()[0] & 0xff);
        byte[] flat = new byte[3 * 5 * 3];
        java.util.Arrays.fill(flat, (byte) 77);
        ImageCodec.Pixels up = ImageCodec.resize(new ImageCodec.Pixels(3, 5, 3, flat), 28, 28);
        for (byte b : up.data()) {
            assertEquals(77, b & 0xff);
        }
    }

    @Test
    void planarLayoutIsRgbPlanes() {
        // one pixel BGR = (1, 2, 3) -> planes R=3, G=2, B=1
        byte[] planar = ImageCodec.toPlanar(new ImageCodec.Pixels(1, 1, 3, new byte[]{1, 2, 3}), 3, 1, 1);
        assertArrayEquals(new byte[]{3, 2, 1}, planar);
        byte[] small = ImageCodec.toPlanar(new ImageCodec.Pixels(8, 8, 1, new byte[64]), 1, 28, 28);
        assertEquals(784, small.length);
    }
}
