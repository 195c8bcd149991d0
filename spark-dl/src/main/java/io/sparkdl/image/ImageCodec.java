package io.sparkdl.image;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decoding and pixel conversions on compact uint8 arrays.
 *
 * <p>Pixels are kept in Spark's image layout (row-major, interleaved channels, BGR order for colour,
 * one byte per value) so decoded images and images from Spark's {@code image} source look the same.
 * Nothing here allocates a double per pixel.
 *
 * <p>Formats: JPEG (also CMYK/YCCK, converted through their ICC profiles), PNG (palette, 16 bits, alpha),
 * WebP, TIFF, BMP and GIF (first frame), read with the JDK's and TwelveMonkeys' ImageIO plugins. Colour in
 * another colour space (an embedded ICC profile) is converted to sRGB. The EXIF orientation is applied.
 * Transparent pixels are composited over white, as a viewer or a web page shows them (dropping alpha
 * would bring back whatever colour a transparent pixel happens to store, often black). JPEGs without an
 * Adobe transform (gray or YCbCr, with no profile or an RGB one) take a faster path, libjpeg-turbo with DCT
 * scaling ({@link NativeJpeg}), their profile applied after the resize ({@link IccRgb}).
 */
public final class ImageCodec {
    /** Default pixel limit: 100 megapixels, well above camera photos (a 50 MP camera's are 8688x5792). */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    /**
     * A subsampled read keeps at least this many samples per target pixel along each axis, so that the area
     * resize after it still averages (point subsampling alone aliases). 1.5 lets a 1024x768 photo bound for
     * 224x224 be read at 512x384, as a JPEG decoder's 1/2 DCT scaling would give it.
     */
    static final double SUBSAMPLING_MARGIN = 1.5;

    static {
        // Decoding runs in executor threads; ImageIO's disk cache only slows small in-memory reads.
        ImageIO.setUseCache(false);
        registerPlugins();
    }

    private ImageCodec() {
    }

    /**
     * Registers the ImageIO plugins on this class's class path. ImageIO scans the class path once, with the
     * context class loader of the first thread that uses it; on an executor that may be a loader that does
     * not see the application's jars, so the scan is repeated with the loader that loaded this class.
     */
    private static void registerPlugins() {
        Thread t = Thread.currentThread();
        ClassLoader old = t.getContextClassLoader();
        try {
            t.setContextClassLoader(ImageCodec.class.getClassLoader());
            ImageIO.scanForPlugins();
        } finally {
            t.setContextClassLoader(old);
        }
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
     * Decodes an image at its own size (format found from the content, not the file name), upright, with
     * the default pixel limit.
     *
     * @param channels 1 (gray), 3 (colour) or 0 to keep the source's (gray stays gray, all else colour)
     */
    public static Pixels decode(byte[] bytes, int channels) throws DecodeException {
        return decode(bytes, channels, 0, 0, DEFAULT_MAX_PIXELS);
    }

    /**
     * Decodes an image, upright, resized to height x width (0 x 0 keeps its size).
     *
     * <p>When shrinking, the decoder reads every s-th pixel of every s-th row (ImageIO source subsampling),
     * with s as large as keeps 1.5 times the target size ({@link #SUBSAMPLING_MARGIN}), so a 4000x3000 photo
     * bound for 224x224 never exists at full size in memory (it is read at 500x375); the area resize that
     * follows averages what was read.
     *
     * @param maxPixels images whose header declares more pixels (width x height) are refused before any
     *                  pixel is decoded: a few hundred KB can declare gigabytes of pixels
     * @throws DecodeException with the reason, for anything that is not a decodable image
     */
    public static Pixels decode(byte[] bytes, int channels, int height, int width, long maxPixels)
            throws DecodeException {
        if (bytes == null || bytes.length == 0) {
            throw new DecodeException("empty file");
        }
        if ((height > 0) != (width > 0)) {
            throw new IllegalArgumentException("height and width must both be positive or both 0 but were "
                    + height + " and " + width);
        }
        int orientation = ExifOrientation.of(bytes);
        NativeJpeg.Header jpeg = NativeJpeg.available() ? NativeJpeg.plainHeader(bytes) : null;
        // A colour JPEG's embedded profile: sRGB (nothing to do), another RGB space (converted after the
        // resize), or one the JDK cannot use (ImageIO's reader decides). Gray JPEGs' profiles are not applied,
        // on either path.
        IccRgb.Kind profile = jpeg != null && jpeg.icc() != null && jpeg.components() == 3 ? IccRgb.of(jpeg.icc()) : null;
        if (jpeg != null && (profile == null || IccRgb.usable(profile))) {
            checkLimit(jpeg.width(), jpeg.height(), maxPixels);
            // libjpeg-turbo scales by 1/2, 1/4 or 1/8 in the DCT: the largest that keeps the margin.
            int s = height > 0 ? subsampling(jpeg.width(), jpeg.height(), orientation, height, width) : 1;
            int scale = s >= 8 ? 8 : s >= 4 ? 4 : s >= 2 ? 2 : 1;
            boolean convert = profile != null && !profile.srgb();
            boolean gray = !convert && (channels == 1 || (channels == 0 && jpeg.components() == 1));
            // Resized natively to the stored orientation's target, then turned: the area resize commutes with
            // the flips and quarter turns, and turning 224x224 pixels costs less than turning the decoded
            // raster and resizing it in Java (phone photos are mostly stored turned, orientation 6).
            boolean swap = ExifOrientation.swapsAxes(orientation);
            Pixels px = NativeJpeg.decode(bytes, scale, gray, swap ? width : height, swap ? height : width);
            if (convert) {
                px = IccRgb.toSrgb(px, profile);
                if (channels == 1) {
                    px = convertChannels(px.height(), px.width(), 3, px.data(), 1);
                }
            }
            if (channels == 3 && px.channels() == 1) {
                px = convertChannels(px.height(), px.width(), 1, px.data(), 3);
            }
            px = ExifOrientation.apply(px, orientation);
            return px;
        }
        return decodeWithImageIO(bytes, channels, height, width, maxPixels, orientation);
    }

    /** The ImageIO path of {@link #decode(byte[], int, int, int, long)}, for every format (tests call it too). */
    static Pixels decodeWithImageIO(byte[] bytes, int channels, int height, int width, long maxPixels,
                                    int orientation) throws DecodeException {
        BufferedImage img;
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            ImageReader reader = readerFor(in, bytes);
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if (w <= 0 || h <= 0) {
                    throw new DecodeException("image has no pixels");
                }
                checkLimit(w, h, maxPixels);
                ImageReadParam param = reader.getDefaultReadParam();
                if (height > 0) {
                    int s = subsampling(w, h, orientation, height, width);
                    if (s > 1) {
                        param.setSourceSubsampling(s, s, 0, 0);
                    }
                }
                // A CMYK profile the reader would drop (see CmykJpeg) is applied here instead.
                CmykJpeg cmyk = CmykJpeg.withIgnoredProfile(bytes);
                img = cmyk != null ? cmyk.toSrgb(reader.readRaster(0, param)) : reader.read(0, param);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new DecodeException("corrupt image: " + firstLine(e));
        }
        if (img == null || img.getWidth() <= 0 || img.getHeight() <= 0) {
            throw new DecodeException("image has no pixels");
        }
        img = withPngProfile(img, bytes);
        Pixels px = fromBufferedImage(img, channels);
        img = null; // the decoded raster can go before the resize allocates
        px = ExifOrientation.apply(px, orientation);
        return height > 0 ? resize(px, height, width) : px;
    }

    private static void checkLimit(int w, int h, long maxPixels) throws DecodeException {
        if ((long) w * h > maxPixels) {
            throw new DecodeException("image is " + w + "x" + h + " = " + ((long) w * h)
                    + " pixels, above the limit of " + maxPixels + " (maxPixels); not decoded");
        }
    }

    /** The read step for a stored w x h image bound for height x width once turned upright. */
    private static int subsampling(int w, int h, int orientation, int height, int width) {
        boolean swap = ExifOrientation.swapsAxes(orientation);
        int tw = swap ? height : width;
        int th = swap ? width : height;
        return (int) Math.max(1, Math.min(w / (SUBSAMPLING_MARGIN * tw), h / (SUBSAMPLING_MARGIN * th)));
    }

    private static ImageReader readerFor(ImageInputStream in, byte[] bytes) throws DecodeException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (readers.hasNext()) {
            return readers.next();
        }
        String brand = isoBrand(bytes);
        if (brand != null) {
            throw new DecodeException("HEIF-family image (HEIC/AVIF, brand '" + brand + "'): this format cannot "
                    + "be decoded; convert it to JPEG or PNG");
        }
        throw new DecodeException("not an image in a supported format (JPEG, PNG, WebP, TIFF, BMP, GIF)");
    }

    /** The major brand of an ISO base media file (HEIC, AVIF, ...), or null. */
    private static String isoBrand(byte[] b) {
        if (b.length >= 12 && b[4] == 'f' && b[5] == 't' && b[6] == 'y' && b[7] == 'p') {
            return new String(b, 8, 4, StandardCharsets.US_ASCII).trim();
        }
        return null;
    }

    /**
     * The JDK's PNG reader ignores a PNG's iCCP chunk (the TIFF, WebP and JPEG readers apply theirs): the
     * image is relabelled with the embedded profile, so that the conversion to sRGB below applies it.
     */
    private static BufferedImage withPngProfile(BufferedImage img, byte[] bytes) {
        ColorModel cm = img.getColorModel();
        if (!(cm instanceof ComponentColorModel) || cm.getNumColorComponents() != 3) {
            return img;
        }
        ICC_Profile profile = pngProfile(bytes);
        if (profile == null || profile.getColorSpaceType() != ColorSpace.TYPE_RGB) {
            return img;
        }
        ColorModel icc = new ComponentColorModel(new ICC_ColorSpace(profile), cm.hasAlpha(), cm.isAlphaPremultiplied(),
                cm.getTransparency(), cm.getTransferType());
        return new BufferedImage(icc, img.getRaster(), img.isAlphaPremultiplied(), null);
    }

    /** The ICC profile in a PNG's iCCP chunk, or null (none, not a PNG, or unreadable: then sRGB is assumed). */
    static ICC_Profile pngProfile(byte[] b) {
        if (b.length < 8 || (b[0] & 0xff) != 0x89 || b[1] != 'P' || b[2] != 'N' || b[3] != 'G') {
            return null;
        }
        int p = 8;
        while (p >= 8 && p + 8 <= b.length) {
            int len = ((b[p] & 0xff) << 24) | ((b[p + 1] & 0xff) << 16) | ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
            String type = new String(b, p + 4, 4, StandardCharsets.US_ASCII);
            if (type.equals("IDAT") || len < 0 || p + 8 + len > b.length) {
                return null;
            }
            if (type.equals("iCCP")) {
                int name = p + 8;
                while (name < p + 8 + len && b[name] != 0) {
                    name++;
                }
                int data = name + 2; // the name's terminator, then the compression method (always 0, zlib)
                Inflater inf = new Inflater();
                try {
                    inf.setInput(b, data, p + 8 + len - data);
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    byte[] buf = new byte[8192];
                    while (!inf.finished()) {
                        int n = inf.inflate(buf);
                        if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                            return null;
                        }
                        out.write(buf, 0, n);
                    }
                    return ICC_Profile.getInstance(out.toByteArray());
                } catch (DataFormatException | IllegalArgumentException e) {
                    return null;
                } finally {
                    inf.end();
                }
            }
            p += 12 + len;
        }
        return null;
    }

    static Pixels fromBufferedImage(BufferedImage img, int channels) {
        int w = img.getWidth();
        int h = img.getHeight();
        boolean gray = img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        int outC = channels == 0 ? (gray ? 1 : 3) : channels;
        if (gray) {
            return fromGray(img, outC);
        }
        if (!img.getColorModel().hasAlpha() && !img.getColorModel().getColorSpace().isCS_sRGB()) {
            // An embedded profile (Adobe RGB, Display P3, ...): one bulk conversion to sRGB.
            BufferedImage srgb = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            new ColorConvertOp(null).filter(img, srgb);
            img = srgb;
        }
        if (img.getType() == BufferedImage.TYPE_3BYTE_BGR && img.getRaster().getDataBuffer() instanceof DataBufferByte db
                && db.getNumBanks() == 1 && db.getData().length == w * h * 3 && img.getRaster().getParent() == null) {
            // Already Spark's layout (what the JPEG readers produce): no per-pixel work.
            byte[] bgr = db.getData();
            return outC == 3 ? new Pixels(h, w, 3, bgr) : convertChannels(h, w, 3, bgr, 1);
        }
        if (img.getColorModel().hasAlpha()) {
            // Composite over white (see the class comment); Java2D also converts any colour space to sRGB.
            BufferedImage flat = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            Graphics2D g = flat.createGraphics();
            try {
                g.setColor(Color.WHITE);
                g.fillRect(0, 0, w, h);
                g.drawImage(img, 0, 0, null);
            } finally {
                g.dispose();
            }
            return fromBufferedImage(flat, outC);
        }
        // Palettes, 16 bits per sample, packed int layouts: getRGB scales everything to 8-bit sRGB.
        byte[] out = new byte[w * h * outC];
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
        return new Pixels(h, w, outC, out);
    }

    /**
     * Gray samples read directly: getRGB() would push gray through a linear-to-sRGB conversion. A gray
     * image with alpha is composited over white like colour images.
     */
    private static Pixels fromGray(BufferedImage img, int outC) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        int bits = img.getColorModel().getComponentSize(0);
        boolean alpha = img.getColorModel().hasAlpha() && r.getNumBands() > 1;
        int alphaMax = alpha ? (1 << img.getColorModel().getComponentSize(1)) - 1 : 1;
        byte[] out = new byte[w * h * outC];
        int[] row = new int[w];
        int[] a = new int[w];
        for (int y = 0; y < h; y++) {
            r.getSamples(0, y, w, 1, 0, row);
            if (alpha) {
                r.getSamples(0, y, w, 1, 1, a);
            }
            for (int x = 0; x < w; x++) {
                double v = bits == 8 ? row[x] : row[x] * 255.0 / ((1 << bits) - 1);
                if (alpha) {
                    double t = (double) a[x] / alphaMax;
                    v = v * t + 255 * (1 - t);
                }
                int iv = (int) Math.round(v);
                int o = (y * w + x) * outC;
                for (int c = 0; c < outC; c++) {
                    out[o + c] = (byte) iv;
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
        int sw = src.width();
        Filter fx = Filter.of(sw, newWidth);
        Filter fy = Filter.of(src.height(), newHeight);
        int rowOut = newWidth * c;
        // Horizontal pass into floats, then vertical pass into bytes. Loops run along contiguous memory
        // (the vertical pass adds whole rows, which the JIT vectorises): this resize used to cost more than
        // decoding the JPEG.
        float[] tmp = new float[src.height() * rowOut];
        byte[] s = src.data();
        for (int y = 0; y < src.height(); y++) {
            int rowBase = y * sw * c;
            int o = y * rowOut;
            for (int x = 0; x < newWidth; x++) {
                float[] wts = fx.weights[x];
                int p = rowBase + fx.start[x] * c;
                if (c == 3) {
                    float a0 = 0;
                    float a1 = 0;
                    float a2 = 0;
                    for (float wk : wts) {
                        a0 += wk * (s[p] & 0xff);
                        a1 += wk * (s[p + 1] & 0xff);
                        a2 += wk * (s[p + 2] & 0xff);
                        p += 3;
                    }
                    tmp[o] = a0;
                    tmp[o + 1] = a1;
                    tmp[o + 2] = a2;
                    o += 3;
                } else {
                    float a = 0;
                    for (float wk : wts) {
                        a += wk * (s[p++] & 0xff);
                    }
                    tmp[o++] = a;
                }
            }
        }
        byte[] out = new byte[newHeight * rowOut];
        float[] acc = new float[rowOut];
        for (int y = 0; y < newHeight; y++) {
            java.util.Arrays.fill(acc, 0f);
            float[] wts = fy.weights[y];
            for (int k = 0; k < wts.length; k++) {
                float wk = wts[k];
                int base = (fy.start[y] + k) * rowOut;
                for (int i = 0; i < rowOut; i++) {
                    acc[i] += wk * tmp[base + i];
                }
            }
            int ob = y * rowOut;
            for (int i = 0; i < rowOut; i++) {
                out[ob + i] = (byte) Math.max(0, Math.min(255, Math.round(acc[i])));
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
