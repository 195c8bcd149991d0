package io.sparkdl.image;

import java.awt.color.CMMException;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CMYK and YCCK JPEGs (Adobe marker, transform 0 or 2) whose embedded ICC profile TwelveMonkeys' reader
 * would drop: it validates a profile through {@link ICC_Profile#getData()}, which the JDK's LittleCMS
 * fails for some ICC v4 profiles (Ghostscript's ps_cmyk.icc, for one: "Can not access specified profile"),
 * and then falls back to a generic CMYK conversion, with visibly wrong colours. The same profile converts pixels fine, so such files are
 * read here: raw samples from the reader, YCC to CMYK where transform is 2, Adobe's inverted samples turned
 * into ink amounts, then one conversion through the profile to sRGB.
 */
final class CmykJpeg {
    /** Profile data (by content) to whether the reader accepts it; bounded, CMYK photos repeat their profiles. */
    private static final Map<ProfileKey, Boolean> READER_ACCEPTS = new ConcurrentHashMap<>();

    private final ICC_Profile profile;
    private final int transform;

    private CmykJpeg(ICC_Profile profile, int transform) {
        this.profile = profile;
        this.transform = transform;
    }

    private record ProfileKey(int hash, int length) {
    }

    /**
     * For a 4-component JPEG with an Adobe marker and an embedded CMYK profile that ImageIO's reader would
     * ignore, what is needed to convert it here; null for every other file (the usual case: no work but a
     * scan of the markers before the frame header).
     */
    static CmykJpeg withIgnoredProfile(byte[] b) {
        if (b.length < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) {
            return null;
        }
        int transform = -1;
        TreeMap<Integer, int[]> icc = null; // sequence number -> offset, length of that chunk's data
        try {
            int p = 2;
            while (p + 4 <= b.length && (b[p] & 0xff) == 0xFF) {
                int marker = b[p + 1] & 0xff;
                if (marker == 0xFF) {
                    p++;
                    continue;
                }
                int len = ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
                if (marker == 0xE2 && len > 16 && NativeJpeg.startsWith(b, p + 4, "ICC_PROFILE")) {
                    if (icc == null) {
                        icc = new TreeMap<>();
                    }
                    icc.put(b[p + 16] & 0xff, new int[]{p + 18, len - 16});
                } else if (marker == 0xEE && len >= 14 && NativeJpeg.startsWith(b, p + 4, "Adobe")) {
                    transform = b[p + 15] & 0xff;
                } else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                    int components = b[p + 9] & 0xff;
                    if (components != 4 || (transform != 0 && transform != 2) || icc == null) {
                        return null;
                    }
                    ICC_Profile profile = ignoredProfile(b, icc);
                    return profile == null ? null : new CmykJpeg(profile, transform);
                } else if (marker == 0xDA) {
                    return null;
                }
                p += 2 + len;
            }
        } catch (IndexOutOfBoundsException e) {
            return null;
        }
        return null;
    }

    /** The embedded profile when it is a usable CMYK profile that the reader would drop, else null. */
    private static ICC_Profile ignoredProfile(byte[] b, TreeMap<Integer, int[]> chunks) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (int[] c : chunks.values()) {
            data.write(b, c[0], c[1]);
        }
        byte[] bytes = data.toByteArray();
        ProfileKey key = new ProfileKey(java.util.Arrays.hashCode(bytes), bytes.length);
        Boolean known = READER_ACCEPTS.get(key);
        if (Boolean.TRUE.equals(known)) {
            return null;
        }
        ICC_Profile profile;
        try {
            profile = ICC_Profile.getInstance(bytes);
        } catch (IllegalArgumentException | CMMException e) {
            return null; // unreadable: the reader's generic conversion is the best there is
        }
        if (profile.getColorSpaceType() != ColorSpace.TYPE_CMYK) {
            return null;
        }
        if (known == null) {
            boolean accepted;
            try {
                // What the reader does with the profile: it ends in ICC_Profile.getData(), which fails for
                // such profiles once LittleCMS has loaded them (a fresh ICC_Profile re-serialises fine).
                com.twelvemonkeys.imageio.color.ColorProfiles.createProfile(bytes);
                accepted = true;
            } catch (CMMException | IllegalArgumentException e) {
                accepted = false;
            }
            if (READER_ACCEPTS.size() > 64) {
                READER_ACCEPTS.clear();
            }
            READER_ACCEPTS.put(key, accepted);
            if (accepted) {
                return null;
            }
        }
        return profile;
    }

    /** Converts the reader's raw 4-band samples (as stored: YCCK or inverted CMYK) to an sRGB BGR image. */
    BufferedImage toSrgb(Raster raw) {
        int w = raw.getWidth();
        int h = raw.getHeight();
        ColorModel cmykModel = new ComponentColorModel(new ICC_ColorSpace(profile), false, false,
                java.awt.Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        WritableRaster ink = cmykModel.createCompatibleWritableRaster(w, h);
        int[] s = new int[w * 4];
        int[] o = new int[w * 4];
        for (int y = 0; y < h; y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, w, 1, s);
            for (int i = 0; i < s.length; i += 4) {
                if (transform == 2) {
                    // YCC to RGB (JFIF equations); Adobe's R, G, B are then C, M, Y ink amounts.
                    double yy = s[i];
                    double cb = s[i + 1] - 128.0;
                    double cr = s[i + 2] - 128.0;
                    o[i] = clamp(yy + 1.402 * cr);
                    o[i + 1] = clamp(yy - 0.344136 * cb - 0.714136 * cr);
                    o[i + 2] = clamp(yy + 1.772 * cb);
                } else {
                    o[i] = 255 - s[i];
                    o[i + 1] = 255 - s[i + 1];
                    o[i + 2] = 255 - s[i + 2];
                }
                o[i + 3] = 255 - s[i + 3]; // K is stored inverted in both
            }
            ink.setPixels(0, y, w, 1, o);
        }
        BufferedImage cmyk = new BufferedImage(cmykModel, ink, false, null);
        BufferedImage srgb = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        new ColorConvertOp(null).filter(cmyk, srgb);
        return srgb;
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }
}
