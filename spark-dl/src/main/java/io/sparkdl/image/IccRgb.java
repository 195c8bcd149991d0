package io.sparkdl.image;

import java.awt.color.CMMException;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.ColorConvertOp;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Embedded RGB profiles of JPEGs on the native path ({@link NativeJpeg}): the image is decoded and resized
 * in the stored colour space, then its few resized pixels are converted to sRGB (the area average is taken
 * in the stored space, which is as non-linear as sRGB is; the difference from converting first is below a
 * level). Phone and camera photos carry such profiles (sRGB, Display P3, Adobe RGB). Profiles that are
 * sRGB in all but name (most embedded ones) are recognised once and need no conversion. Results are cached
 * by profile content: a lake's photos repeat a handful of profiles.
 */
final class IccRgb {
    /**
     * What a profile needs: nothing (sRGB), a conversion from {@code space}, or the ImageIO path (null).
     * The conversion (a LittleCMS transform, built on first use) is kept per thread: ColorConvertOp caches
     * it in unsynchronised fields, and building it costs several times converting 224x224 pixels.
     */
    record Kind(boolean srgb, ICC_ColorSpace space, ThreadLocal<ColorConvertOp> op) {
        Kind(boolean srgb, ICC_ColorSpace space) {
            this(srgb, space, space == null ? null : ThreadLocal.withInitial(() -> new ColorConvertOp(
                    new ICC_Profile[]{space.getProfile(), ICC_Profile.getInstance(ColorSpace.CS_sRGB)}, null)));
        }
    }

    private static final Kind SRGB = new Kind(true, null);
    private static final Kind UNUSABLE = new Kind(false, null);
    private static final Map<Key, Kind> CACHE = new ConcurrentHashMap<>();

    private record Key(int hash, int length) {
    }

    private IccRgb() {
    }

    /** How to treat pixels stored in this profile; {@code usable()} false sends the file to ImageIO. */
    static Kind of(byte[] icc) {
        Key key = new Key(Arrays.hashCode(icc), icc.length);
        Kind k = CACHE.get(key);
        if (k == null) {
            k = classify(icc);
            if (CACHE.size() > 64) {
                CACHE.clear();
            }
            CACHE.put(key, k);
        }
        return k;
    }

    static boolean usable(Kind k) {
        return k.srgb() || k.space() != null;
    }

    private static Kind classify(byte[] icc) {
        ICC_ColorSpace cs;
        try {
            ICC_Profile p = ICC_Profile.getInstance(icc);
            if (p.getColorSpaceType() != ColorSpace.TYPE_RGB) {
                return UNUSABLE;
            }
            cs = new ICC_ColorSpace(p);
            // sRGB in all but name when a grid of colours comes back within half a level.
            float[] v = new float[3];
            for (int r = 0; r <= 4; r++) {
                for (int g = 0; g <= 4; g++) {
                    for (int b = 0; b <= 4; b++) {
                        v[0] = r / 4f;
                        v[1] = g / 4f;
                        v[2] = b / 4f;
                        float[] out = cs.toRGB(v);
                        for (int c = 0; c < 3; c++) {
                            if (Math.abs(out[c] - v[c]) * 255 > 0.5) {
                                return new Kind(false, cs);
                            }
                        }
                    }
                }
            }
            return SRGB;
        } catch (IllegalArgumentException | CMMException e) {
            return UNUSABLE; // a profile the JDK cannot read: ImageIO's readers decide what to do with it
        }
    }

    /** The BGR pixels converted from {@code k}'s colour space to sRGB (returned as they are for sRGB). */
    static ImageCodec.Pixels toSrgb(ImageCodec.Pixels px, Kind k) {
        if (k.srgb() || px.channels() != 3) {
            return px;
        }
        int w = px.width();
        int h = px.height();
        int[] rgbBands = {2, 1, 0}; // bands R, G, B of BGR bytes
        WritableRaster src = Raster.createInterleavedRaster(new DataBufferByte(px.data(), px.data().length), w, h,
                3 * w, 3, rgbBands, null);
        WritableRaster dst = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 3 * w, 3, rgbBands, null);
        k.op().get().filter(src, dst);
        return new ImageCodec.Pixels(h, w, 3, ((DataBufferByte) dst.getDataBuffer()).getData());
    }
}
