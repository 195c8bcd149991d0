package io.sparkdl.image;

/**
 * The EXIF orientation tag (0x0112) of an encoded image, and the transform that turns stored pixels upright.
 *
 * <p>Read straight from the bytes (JPEG APP1, PNG eXIf, WebP EXIF chunk, TIFF IFD0) rather than through
 * ImageIO metadata, which would build a whole metadata tree per image. Anything unreadable counts as 1
 * (upright): a damaged tag must not make a good image a bad file.
 */
final class ExifOrientation {
    private ExifOrientation() {
    }

    /** The orientation value 1..8 of the image, 1 when absent or unreadable. */
    static int of(byte[] b) {
        try {
            int tiff = tiffStart(b);
            int v = tiff < 0 ? 1 : readTag(b, tiff);
            return v >= 1 && v <= 8 ? v : 1;
        } catch (IndexOutOfBoundsException e) {
            return 1;
        }
    }

    /** Whether the orientation swaps width and height (values 5..8 turn the image by a quarter). */
    static boolean swapsAxes(int orientation) {
        return orientation >= 5;
    }

    /** Offset of the TIFF header holding the EXIF data, or -1. */
    private static int tiffStart(byte[] b) {
        if (b.length > 4 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8) {
            int p = 2;
            while (p + 4 <= b.length && (b[p] & 0xff) == 0xFF) {
                int marker = b[p + 1] & 0xff;
                if (marker == 0xDA || marker == 0xD9) {
                    return -1; // start of scan: no EXIF before the pixels
                }
                int len = u16(b, p + 2, true);
                if (marker == 0xE1 && len >= 8 && ascii(b, p + 4, "Exif\0\0")) {
                    return p + 10;
                }
                p += 2 + len;
            }
            return -1;
        }
        if (b.length > 8 && ascii(b, 0, "\u0089PNG")) {
            int p = 8;
            while (p + 8 <= b.length) {
                int len = (int) Math.min(Integer.MAX_VALUE, u32(b, p, true));
                if (ascii(b, p + 4, "eXIf")) {
                    return p + 8;
                }
                if (ascii(b, p + 4, "IDAT")) {
                    return -1;
                }
                p += 12 + len;
            }
            return -1;
        }
        if (b.length > 12 && ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) {
            int p = 12;
            while (p + 8 <= b.length) {
                int len = (int) Math.min(Integer.MAX_VALUE, u32(b, p + 4, false));
                if (ascii(b, p, "EXIF")) {
                    // Some writers keep JPEG's "Exif\0\0" prefix inside the chunk.
                    return ascii(b, p + 8, "Exif\0\0") ? p + 14 : p + 8;
                }
                p += 8 + len + (len & 1);
            }
            return -1;
        }
        if (ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*")) {
            return 0;
        }
        return -1;
    }

    /** The orientation tag of IFD0 of the TIFF structure at {@code t}, or 1. */
    private static int readTag(byte[] b, int t) {
        boolean big;
        if (ascii(b, t, "MM")) {
            big = true;
        } else if (ascii(b, t, "II")) {
            big = false;
        } else {
            return 1;
        }
        long ifd = u32(b, t + 4, big);
        int p = (int) (t + ifd);
        int n = u16(b, p, big);
        for (int i = 0; i < n; i++) {
            int e = p + 2 + 12 * i;
            if (u16(b, e, big) == 0x0112) {
                return u16(b, e + 8, big); // type SHORT, count 1: the value sits in the entry's first two bytes
            }
        }
        return 1;
    }

    /**
     * Pixels turned upright: the EXIF transforms (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
     * clockwise, 7 transverse, 8 rotate 90 counter-clockwise) applied to the stored image.
     */
    static ImageCodec.Pixels apply(ImageCodec.Pixels px, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return px;
        }
        int w = px.width();
        int h = px.height();
        int c = px.channels();
        boolean swap = swapsAxes(orientation);
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] s = px.data();
        byte[] out = new byte[s.length];
        int o = 0;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - ox; sy = oy; }
                    case 3 -> { sx = w - 1 - ox; sy = h - 1 - oy; }
                    case 4 -> { sx = ox; sy = h - 1 - oy; }
                    case 5 -> { sx = oy; sy = ox; }
                    case 6 -> { sx = oy; sy = h - 1 - ox; }
                    case 7 -> { sx = w - 1 - oy; sy = h - 1 - ox; }
                    default -> { sx = w - 1 - oy; sy = ox; }
                }
                System.arraycopy(s, (sy * w + sx) * c, out, o, c);
                o += c;
            }
        }
        return new ImageCodec.Pixels(oh, ow, c, out);
    }

    private static boolean ascii(byte[] b, int p, String s) {
        if (p < 0 || p + s.length() > b.length) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if ((b[p + i] & 0xff) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int u16(byte[] b, int p, boolean big) {
        int x = b[p] & 0xff;
        int y = b[p + 1] & 0xff;
        return big ? (x << 8) | y : (y << 8) | x;
    }

    private static long u32(byte[] b, int p, boolean big) {
        long hi = u16(b, p, big);
        long lo = u16(b, p + 2, big);
        return big ? (hi << 16) | lo : (lo << 16) | hi;
    }
}
