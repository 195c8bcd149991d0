package io.sparkdl.image;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A random image augmentation: each setting is a range a fresh value is drawn from, image by image, and
 * every setting is off by default. Written and read as comma-separated {@code name=value} pairs, the form
 * the command line's {@code --augment} takes:
 * <ul>
 *   <li>{@code rotate=DEG}: rotation by an angle in [-DEG, DEG] degrees about the centre;</li>
 *   <li>{@code translate=F}: shift by up to F of the width and, independently, of the height, rounded to
 *       whole pixels (with no other geometric setting the image is shifted exactly, not resampled);</li>
 *   <li>{@code rescale=F}: zoom by a factor in [1-F, 1+F], the same along both axes;</li>
 *   <li>{@code stretch=F}: zoom the two axes by independent factors in [1-F, 1+F];</li>
 *   <li>{@code shear=DEG}: horizontal shear by an angle in [-DEG, DEG] degrees;</li>
 *   <li>{@code flip=horizontal|vertical|both}: mirror with probability 1/2 (each axis for both);</li>
 *   <li>{@code brightness=B}: add a value in [-B, B] (pixel values read in [0, 1]);</li>
 *   <li>{@code contrast=C}: scale the distance from the image mean by a factor in [1-C, 1+C].</li>
 * </ul>
 * The geometric part is one affine map sampled bilinearly (outside the image reads as 0, the usual
 * background); the photometric part is clamped to [0, 1]. Draws come from the caller's random source,
 * so a seed fixes them.
 */
public final class Augmentation implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final float INV_255 = 1f / 255f;

    /** No augmentation. */
    public static final Augmentation NONE = new Augmentation(new LinkedHashMap<>());

    private final double rotate;
    private final double translate;
    private final double rescale;
    private final double stretch;
    private final double shear;
    private final boolean flipH;
    private final boolean flipV;
    private final double brightness;
    private final double contrast;
    private final String spec;

    private Augmentation(Map<String, String> v) {
        rotate = number(v, "rotate", 0, 180);
        translate = number(v, "translate", 0, 1);
        rescale = number(v, "rescale", 0, 0.9);
        stretch = number(v, "stretch", 0, 0.9);
        shear = number(v, "shear", 0, 60);
        String flip = v.getOrDefault("flip", "none");
        switch (flip) {
            case "none" -> {
                flipH = false;
                flipV = false;
            }
            case "horizontal" -> {
                flipH = true;
                flipV = false;
            }
            case "vertical" -> {
                flipH = false;
                flipV = true;
            }
            case "both" -> {
                flipH = true;
                flipV = true;
            }
            default -> throw new IllegalArgumentException("augmentation flip must be none, horizontal, vertical or "
                    + "both but was '" + flip + "'");
        }
        brightness = number(v, "brightness", 0, 1);
        contrast = number(v, "contrast", 0, 1);
        StringBuilder sb = new StringBuilder();
        v.forEach((k, x) -> {
            if (!(k.equals("flip") ? x.equals("none") : Double.parseDouble(x) == 0)) {
                sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(x);
            }
        });
        spec = sb.toString();
    }

    /**
     * Parses {@code name=value,...}; an empty or null spec is {@link #NONE}. Throws
     * IllegalArgumentException naming an unknown name or a value out of range.
     */
    public static Augmentation parse(String spec) {
        Map<String, String> v = new LinkedHashMap<>();
        if (spec == null || spec.isBlank() || spec.trim().equalsIgnoreCase("none")) {
            return NONE;
        }
        for (String part : spec.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("augmentation '" + p + "' must look like name=value");
            }
            String k = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (!java.util.List.of("rotate", "translate", "rescale", "stretch", "shear", "flip", "brightness",
                    "contrast").contains(k)) {
                throw new IllegalArgumentException("augmentation '" + k + "' is unknown; use rotate, translate, "
                        + "rescale, stretch, shear, flip, brightness, contrast");
            }
            if (v.put(k, p.substring(eq + 1).trim().toLowerCase(Locale.ROOT)) != null) {
                throw new IllegalArgumentException("augmentation '" + k + "' is given twice");
            }
        }
        return new Augmentation(v);
    }

    private static double number(Map<String, String> v, String k, double min, double max) {
        String s = v.get(k);
        if (s == null) {
            return 0;
        }
        double d;
        try {
            d = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("augmentation " + k + "=" + s + " is not a number");
        }
        if (!(d >= min && d <= max)) {
            throw new IllegalArgumentException("augmentation " + k + "=" + s + " must be in [" + min + ", " + max + "]");
        }
        return d;
    }

    /** The canonical spec (enabled settings only, in the order given); "" for none. */
    public String spec() {
        return spec;
    }

    public boolean isNone() {
        return spec.isEmpty();
    }

    private boolean geometric() {
        return rotate > 0 || translate > 0 || rescale > 0 || stretch > 0 || shear > 0 || flipH || flipV;
    }

    /**
     * Writes one augmented image as floats in [0, 1]: {@code src[srcOff..]} holds {@code c x h x w} uint8
     * pixels (channel-planar), {@code dst[dstOff..]} receives the same layout.
     */
    public void apply(byte[] src, int srcOff, int c, int h, int w, float[] dst, int dstOff, SplittableRandom rnd) {
        int hw = h * w;
        if (!geometric()) {
            for (int k = 0; k < c * hw; k++) {
                dst[dstOff + k] = (src[srcOff + k] & 0xff) * INV_255;
            }
        } else {
            // Output pixel (x, y) reads the source at M^-1 (p - centre - t) + centre, where
            // M = rotation * shear * scale and flips mirror the output coordinates first.
            double theta = Math.toRadians(draw(rnd, rotate));
            double phi = Math.toRadians(draw(rnd, shear));
            double zoom = 1 + draw(rnd, rescale);
            double sx = zoom * (1 + draw(rnd, stretch));
            double sy = zoom * (1 + draw(rnd, stretch));
            // whole pixels, like random crops: a sub-pixel shift would blur every training image, and
            // test images are sharp
            double tx = Math.round(draw(rnd, translate) * w);
            double ty = Math.round(draw(rnd, translate) * h);
            boolean fh = flipH && rnd.nextBoolean();
            boolean fv = flipV && rnd.nextBoolean();
            double cos = Math.cos(theta);
            double sin = Math.sin(theta);
            double tan = Math.tan(phi);
            // M = R * Sh * S = [[cos, -sin], [sin, cos]] * [[1, tan], [0, 1]] * [[sx, 0], [0, sy]]
            double m00 = cos * sx;
            double m01 = (cos * tan - sin) * sy;
            double m10 = sin * sx;
            double m11 = (sin * tan + cos) * sy;
            double det = m00 * m11 - m01 * m10;
            double i00 = m11 / det;
            double i01 = -m01 / det;
            double i10 = -m10 / det;
            double i11 = m00 / det;
            double cx = (w - 1) / 2.0;
            double cy = (h - 1) / 2.0;
            for (int y = 0; y < h; y++) {
                double oy = (fv ? h - 1 - y : y) - cy - ty;
                for (int x = 0; x < w; x++) {
                    double ox = (fh ? w - 1 - x : x) - cx - tx;
                    double u = i00 * ox + i01 * oy + cx;
                    double v = i10 * ox + i11 * oy + cy;
                    int x0 = (int) Math.floor(u);
                    int y0 = (int) Math.floor(v);
                    float ax = (float) (u - x0);
                    float ay = (float) (v - y0);
                    for (int ch = 0; ch < c; ch++) {
                        int base = srcOff + ch * hw;
                        float p00 = px(src, base, x0, y0, w, h);
                        float p10 = px(src, base, x0 + 1, y0, w, h);
                        float p01 = px(src, base, x0, y0 + 1, w, h);
                        float p11 = px(src, base, x0 + 1, y0 + 1, w, h);
                        float top = p00 + ax * (p10 - p00);
                        float bottom = p01 + ax * (p11 - p01);
                        dst[dstOff + ch * hw + y * w + x] = (top + ay * (bottom - top)) * INV_255;
                    }
                }
            }
        }
        if (brightness > 0 || contrast > 0) {
            float add = (float) draw(rnd, brightness);
            float factor = (float) (1 + draw(rnd, contrast));
            for (int ch = 0; ch < c; ch++) {
                int base = dstOff + ch * hw;
                double sum = 0;
                for (int k = 0; k < hw; k++) {
                    sum += dst[base + k];
                }
                float mean = (float) (sum / hw);
                for (int k = 0; k < hw; k++) {
                    float val = mean + (dst[base + k] - mean) * factor + add;
                    dst[base + k] = val < 0 ? 0 : Math.min(1f, val);
                }
            }
        }
    }

    private static double draw(SplittableRandom rnd, double range) {
        return range > 0 ? (rnd.nextDouble() * 2 - 1) * range : 0;
    }

    private static float px(byte[] src, int base, int x, int y, int w, int h) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0f : (src[base + y * w + x] & 0xff);
    }

    /** The random source for image {@code index} under {@code seed}: independent of visiting order. */
    public static SplittableRandom random(long seed, long index) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Augmentation a && a.spec.equals(spec);
    }

    @Override
    public int hashCode() {
        return spec.hashCode();
    }

    @Override
    public String toString() {
        return isNone() ? "none" : spec;
    }
}
