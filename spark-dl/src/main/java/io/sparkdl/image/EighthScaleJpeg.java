package io.sparkdl.image;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A baseline JPEG decoded at 1/8 of its size, the scale a multi-megapixel photo bound for 224x224 is read at.
 * At that scale a block's inverse DCT is its DC coefficient alone (or, for the chroma of a 4:2:0 JPEG,
 * which libjpeg-turbo decodes at 2x2 to land on the output's grid, a 2x2 IDCT of a few low coefficients), so
 * the decoder's cost is the entropy decoding, and most of that is skipping AC coefficients no pixel needs.
 * libjpeg-turbo (the decoder behind OpenCV and Pillow) decodes each AC symbol and then drops its value
 * bits; here one lookup on the next {@value #SKIP_BITS} bits gives the bits and coefficients taken by every
 * symbol whose code lies in them, often two or three, so skipping them is a lookup and two adds.
 *
 * <p>The output is what libjpeg-turbo gives at scale 1/8 with its default settings, bit for bit
 * (EighthScaleJpegTest compares): {@code jpeg_idct_1x1} (the dequantised DC coefficient / 8, rounded,
 * + 128, clamped) or {@code jpeg_idct_2x2}, other chroma replicated (libjpeg-turbo does not use its smoothing
 * upsampler at this scale), and its fixed-point YCbCr to RGB conversion.
 *
 * <p>Only what this covers is decoded here: 8-bit baseline or extended Huffman JPEGs with one interleaved
 * scan of all components (gray or YCbCr, integer sampling ratios), with or without restart markers. For
 * anything else, and for any stream that is not well formed (an undefined table, a code no table has, data
 * that ends early), {@link #decode} returns null and the caller uses libjpeg-turbo, which reports or
 * tolerates the damage as it always has.
 */
final class EighthScaleJpeg {
    /** Bits looked up at once; longer codes (rare in real tables) take the bit-by-bit path. */
    static final int LOOKUP = 10;
    /** Bits looked up at once when skipping AC symbols (several short symbols per lookup). */
    static final int SKIP_BITS = 12;
    private static final VarHandle BIG_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LITTLE_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Zero bytes after the entropy-coded data: reads past a damaged stream's end stay inside the array. */
    private static final int PAD = 8192;
    /**
     * libjpeg's post-IDCT range limit, indexed by (value & 1023): value + 128 clamped to 0..255 for values in
     * -512..511, wrapping beyond as libjpeg's table does (only damaged data gets there).
     */
    private static final byte[] RANGE = new byte[1024];
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int m = 0; m < 1024; m++) {
            int x = m < 512 ? m : m - 1024;
            RANGE[m] = clamp(x + 128);
        }
        // libjpeg's jdcolor.c tables (SCALEBITS 16, FIX(x) = x * 65536 rounded).
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + (1 << 15)) >> 16;
            CB_B[i] = (fix(1.77200) * x + (1 << 15)) >> 16;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + (1 << 15);
        }
    }

    private EighthScaleJpeg() {
    }

    private static int fix(double x) {
        return (int) (x * 65536 + 0.5);
    }

    /**
     * The image at 1/8 scale (ceil(width / 8) x ceil(height / 8)), BGR (as OpenCV gives it) or, when gray,
     * luma; or null when this decoder does not cover the file (see the class comment).
     */
    static ImageCodec.Pixels decode(byte[] b, boolean gray) {
        try {
            return new Parser(b).decode(gray);
        } catch (RuntimeException e) { // a malformed stream (an index past a short segment, say)
            return null;
        }
    }

    /** A Huffman table: a lookup on the next LOOKUP bits, and the canonical tables for longer codes. */
    private static final class Huffman {
        /** Per LOOKUP-bit prefix: code length | symbol << 8, or 0 when the code is longer (or absent). */
        final int[] fast = new int[1 << LOOKUP];
        /**
         * For skipping AC coefficients, per SKIP_BITS-bit prefix: the first symbol (the bits it takes, code
         * and value, and the coefficients it advances: run + 1, 16 for ZRL, 64 for end of block), and every
         * symbol whose code lies wholly in the prefix (their bits, the coefficients they advance before any
         * end of block, and whether they end with one). 0 when the first code is longer than SKIP_BITS.
         * See {@link #skipEntry}.
         */
        final int[] skip = new int[1 << SKIP_BITS];
        final int[] maxCode = new int[18]; // per length: largest code, -1 if none
        final int[] valOffset = new int[18]; // per length: index of its first symbol minus its first code
        final int[] values;

        Huffman(int[] counts, int[] values) {
            this.values = values;
            int code = 0;
            int k = 0;
            for (int len = 1; len <= 16; len++) {
                valOffset[len] = k - code;
                for (int i = 0; i < counts[len]; i++, k++, code++) {
                    if (len <= LOOKUP) {
                        int sym = values[k];
                        int lo = code << (LOOKUP - len);
                        int hi = (code + 1) << (LOOKUP - len);
                        for (int j = lo; j < hi; j++) {
                            fast[j] = len | sym << 8;
                        }
                    }
                }
                maxCode[len] = counts[len] > 0 ? code - 1 : -1;
                if (code >= (1 << len)) { // libjpeg refuses a table whose codes overflow or use all ones
                    throw new IllegalStateException("bad Huffman table");
                }
                code <<= 1;
            }
            maxCode[17] = Integer.MAX_VALUE;
            for (int i = 0; i < skip.length; i++) {
                skip[i] = skipEntry(i);
            }
        }

        /**
         * The symbols at the start of the SKIP_BITS-bit prefix {@code prefix}, packed: bits taken by the
         * first symbol (5 bits) | coefficients it advances << 5 (7 bits) | bits taken by all symbols whose
         * codes lie in the prefix << 12 (6 bits) | coefficients they advance, end of block not counted, << 18
         * (7 bits) | 1 << 25 when they end with an end of block. 0 when the first code is not in the prefix.
         */
        private int skipEntry(int prefix) {
            int taken = 0;
            int advanced = 0;
            int entry = 0;
            while (taken < SKIP_BITS && advanced < 64) {
                int found = decode((long) prefix << (64 - SKIP_BITS + taken), 1, SKIP_BITS - taken);
                if (found < 0) {
                    break;
                }
                int len = found & 0xff;
                int sym = found >>> 8;
                int size = sym & 15;
                boolean endOfBlock = size == 0 && sym >> 4 != 15;
                int advance = advance(sym);
                if (taken == 0) {
                    entry = (len + size) | advance << 5;
                }
                if (endOfBlock) {
                    taken += len;
                    entry |= 1 << 25;
                    break;
                }
                taken += len + size;
                advanced += advance;
            }
            return entry == 0 ? 0 : entry | taken << 12 | advanced << 18;
        }

        /**
         * A code longer than LOOKUP bits at the top of {@code bits}: its length | symbol << 8, or -1 when
         * no code matches.
         */
        int slow(long bits) {
            return decode(bits, LOOKUP + 1, 16);
        }

        /**
         * The code of {@code minLen} to {@code maxLen} bits at the top of {@code bits} (no shorter code may
         * match): its length | symbol << 8, or -1 when none matches.
         */
        private int decode(long bits, int minLen, int maxLen) {
            for (int len = minLen; len <= Math.min(maxLen, 16); len++) {
                int code = (int) (bits >>> (64 - len));
                if (code <= maxCode[len]) {
                    int i = code + valOffset[len];
                    return i >= 0 && i < values.length ? len | values[i] << 8 : -1;
                }
            }
            return -1;
        }
    }

    private static final class Parser {
        final byte[] b;
        final int[][] quant = new int[4][]; // in natural order
        final Huffman[] dc = new Huffman[4];
        final Huffman[] ac = new Huffman[4];
        int width;
        int height;
        int n; // components
        int[] hs;
        int[] vs;
        int[] tq;
        int[] ids;
        int restartInterval;

        Parser(byte[] b) {
            this.b = b;
        }

        int u16(int p) {
            return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
        }

        ImageCodec.Pixels decode(boolean gray) {
            if (b.length < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) {
                return null;
            }
            int p = 2;
            while (true) {
                if ((b[p] & 0xff) != 0xFF) {
                    return null;
                }
                int marker = b[p + 1] & 0xff;
                if (marker == 0xFF) {
                    p++;
                    continue;
                }
                int len = u16(p + 2);
                int s = p + 4;
                int end = p + 2 + len;
                if (len < 2 || end > b.length) {
                    return null;
                }
                switch (marker) {
                    case 0xC0, 0xC1 -> {
                        if (n != 0 || (b[s] & 0xff) != 8) {
                            return null; // a second frame, or 12-bit samples
                        }
                        height = u16(s + 1);
                        width = u16(s + 3);
                        n = b[s + 5] & 0xff;
                        if ((n != 1 && n != 3) || width == 0 || height == 0 || width > 65500 || height > 65500
                                || len != 8 + 3 * n) {
                            return null; // height 0 (defined later by DNL) left to libjpeg
                        }
                        hs = new int[n];
                        vs = new int[n];
                        tq = new int[n];
                        ids = new int[n];
                        for (int c = 0; c < n; c++) {
                            ids[c] = b[s + 6 + 3 * c] & 0xff;
                            hs[c] = (b[s + 7 + 3 * c] & 0xff) >> 4;
                            vs[c] = b[s + 7 + 3 * c] & 15;
                            tq[c] = b[s + 8 + 3 * c] & 0xff;
                            if (hs[c] < 1 || hs[c] > 4 || vs[c] < 1 || vs[c] > 4 || tq[c] > 3) {
                                return null;
                            }
                        }
                        if (n == 3 && ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B') {
                            return null; // libjpeg reads these as RGB, not YCbCr
                        }
                    }
                    case 0xC4 -> {
                        int q = s;
                        while (q < end) {
                            int tc = (b[q] & 0xff) >> 4;
                            int th = b[q] & 15;
                            if (tc > 1 || th > 3) {
                                return null;
                            }
                            int[] counts = new int[17];
                            int total = 0;
                            for (int i = 1; i <= 16; i++) {
                                counts[i] = b[q + i] & 0xff;
                                total += counts[i];
                            }
                            if (total > 256 || q + 17 + total > end) {
                                return null;
                            }
                            int[] values = new int[total];
                            for (int i = 0; i < total; i++) {
                                values[i] = b[q + 17 + i] & 0xff;
                            }
                            (tc == 0 ? dc : ac)[th] = new Huffman(counts, values);
                            q += 17 + total;
                        }
                        if (q != end) {
                            return null;
                        }
                    }
                    case 0xDB -> {
                        int q = s;
                        while (q < end) {
                            int pq = (b[q] & 0xff) >> 4;
                            int t = b[q] & 15;
                            if (pq > 1 || t > 3 || q + 1 + 64 * (pq + 1) > end) {
                                return null;
                            }
                            int[] table = new int[64];
                            for (int i = 0; i < 64; i++) {
                                table[NATURAL[i]] = pq == 0 ? b[q + 1 + i] & 0xff : u16(q + 1 + 2 * i);
                                if (table[NATURAL[i]] > Short.MAX_VALUE) {
                                    return null; // libjpeg-turbo multiplies with 16-bit entries
                                }
                            }
                            quant[t] = table;
                            q += 1 + (pq == 0 ? 64 : 128);
                        }
                    }
                    case 0xDD -> {
                        if (len != 4) {
                            return null;
                        }
                        restartInterval = u16(s);
                    }
                    case 0xDA -> {
                        return scan(s, end, gray);
                    }
                    default -> {
                        // APPn and COM carry nothing this decoder needs. Any other frame type (progressive,
                        // lossless, arithmetic coding, hierarchical) is not covered, and libjpeg refuses
                        // markers it does not know: both left to libjpeg.
                        if (!(marker >= 0xE0 && marker <= 0xEF || marker == 0xFE)) {
                            return null;
                        }
                    }
                }
                p = end;
            }
        }

        ImageCodec.Pixels scan(int s, int end, boolean gray) {
            if (n == 0 || (b[s] & 0xff) != n || end - s != 4 + 2 * n) {
                return null; // a scan before the frame, or not one interleaved scan of all components
            }
            Huffman[] dcOf = new Huffman[n];
            Huffman[] acOf = new Huffman[n];
            for (int c = 0; c < n; c++) {
                int id = b[s + 1 + 2 * c] & 0xff;
                int t = b[s + 2 + 2 * c] & 0xff;
                if (id != ids[c] || quant[tq[c]] == null) {
                    return null;
                }
                dcOf[c] = dc[t >> 4 & 3];
                acOf[c] = ac[t & 3];
                if ((t >> 4) > 3 || (t & 15) > 3 || dcOf[c] == null || acOf[c] == null) {
                    return null;
                }
                for (int v : dcOf[c].values) {
                    if (v > 15) {
                        return null; // libjpeg refuses a DC table holding such a symbol, whether the data uses it or not
                    }
                }
                for (int v : acOf[c].values) {
                    if ((v & 15) > 10) {
                        return null; // more than an 8-bit JPEG's AC coefficients take: a damaged table
                    }
                }
            }
            int spectralStart = b[s + 1 + 2 * n] & 0xff;
            int se = b[s + 2 + 2 * n] & 0xff;
            int a = b[s + 3 + 2 * n] & 0xff;
            if (spectralStart != 0 || se != 63 || a != 0) {
                return null;
            }
            int hMax = 1;
            int vMax = 1;
            for (int c = 0; c < n; c++) {
                hMax = Math.max(hMax, hs[c]);
                vMax = Math.max(vMax, vs[c]);
            }
            int blocksInMcu = 0;
            for (int c = 0; c < n; c++) {
                if (hMax % hs[c] != 0 || vMax % vs[c] != 0) {
                    return null; // libjpeg refuses fractional ratios too
                }
                blocksInMcu += hs[c] * vs[c];
            }
            if (n == 1) { // one component: one block per MCU whatever the sampling factors say
                hMax = vMax = 1;
                hs[0] = vs[0] = 1;
                blocksInMcu = 1;
            }
            if (blocksInMcu > 10) {
                return null;
            }
            // The entropy-coded data without byte stuffing, and where each restart marker was.
            int[] restarts = new int[16];
            int restartCount = 0;
            byte[] d = new byte[b.length - end + PAD];
            int o = 0;
            int i = end;
            int last = b.length;
            boolean ended = false; // by EOI
            while (i < last) {
                int j = nextFF(b, i, last);
                System.arraycopy(b, i, d, o, j - i);
                o += j - i;
                if (j + 1 >= last) {
                    break;
                }
                int m = b[j + 1] & 0xff;
                if (m == 0) {
                    d[o++] = (byte) 0xFF;
                    i = j + 2;
                } else if (m == 0xFF) {
                    i = j + 1; // fill byte before a marker
                } else if (m >= 0xD0 && m <= 0xD7) {
                    if (m - 0xD0 != (restartCount & 7)) {
                        return null; // a restart marker missing or out of order: libjpeg resynchronises
                    }
                    if (restartCount == restarts.length) {
                        restarts = java.util.Arrays.copyOf(restarts, restartCount * 2);
                    }
                    restarts[restartCount++] = o;
                    i = j + 2;
                } else {
                    ended = m == 0xD9;
                    break; // EOI, or a segment after the scan (left to libjpeg)
                }
            }
            if (!ended) {
                return null; // no end of image: libjpeg-turbo (as OpenCV calls it) refuses such a file
            }
            long dataBits = 8L * o;
            int mcusX = (width + 8 * hMax - 1) / (8 * hMax);
            int mcusY = (height + 8 * vMax - 1) / (8 * vMax);
            long mcus = (long) mcusX * mcusY;
            if (restartCount != (restartInterval == 0 ? 0 : (mcus - 1) / restartInterval)) {
                return null; // restart markers where none belong, or missing: libjpeg ends or resynchronises
            }
            // Each component's inverse DCT size, as libjpeg-turbo picks it: 1 (the DC coefficient), or 2 for
            // a subsampled chroma component whose 2x2 IDCT lands on the output's grid (4:2:0), so that it
            // needs no upsampling. Pixel planes per component, in blocks of ss x ss.
            int[] ss = new int[n];
            byte[][] planes = new byte[n][];
            int[] planeWidth = new int[n];
            for (int c = 0; c < n; c++) {
                int size = 1;
                while (size < 8 && (hMax % (hs[c] * size * 2)) == 0 && (vMax % (vs[c] * size * 2)) == 0) {
                    size *= 2;
                }
                if (size > 2 || hMax % (hs[c] * size) != 0 || vMax % (vs[c] * size) != 0) {
                    return null;
                }
                ss[c] = size;
                planeWidth[c] = mcusX * hs[c] * size;
                planes[c] = new byte[planeWidth[c] * mcusY * vs[c] * size];
            }
            int[][] q = new int[n][];
            for (int c = 0; c < n; c++) {
                q[c] = quant[tq[c]];
            }
            int[] coef = new int[65]; // [64]: whether an AC coefficient the 2x2 IDCT uses was set
            long[] work = new long[16];
            int[] pred = new int[n];
            long pos = 0;
            int mcusLeft = restartInterval;
            int nextRestart = 0;
            for (int my = 0; my < mcusY; my++) {
                for (int mx = 0; mx < mcusX; mx++) {
                    if (restartInterval > 0) {
                        if (mcusLeft == 0) {
                            if (nextRestart >= restartCount || pos > 8L * restarts[nextRestart]) {
                                return null; // too few markers, or the interval's data ran past its marker
                            }
                            pos = 8L * restarts[nextRestart++];
                            java.util.Arrays.fill(pred, 0);
                            mcusLeft = restartInterval;
                        }
                        mcusLeft--;
                    }
                    for (int c = 0; c < n; c++) {
                        Huffman dcTable = dcOf[c];
                        Huffman acTable = acOf[c];
                        byte[] plane = planes[c];
                        int pw = planeWidth[c];
                        int[] qc = q[c];
                        int size2 = ss[c];
                        for (int by = 0; by < vs[c]; by++) {
                            for (int bx = 0; bx < hs[c]; bx++) {
                                // DC: the difference from the previous block's coefficient.
                                long bits = (long) BIG_ENDIAN_LONG.get(d, (int) (pos >>> 3)) << (pos & 7);
                                int e = dcTable.fast[(int) (bits >>> (64 - LOOKUP))];
                                if (e == 0) {
                                    e = dcTable.slow(bits);
                                    if (e < 0) {
                                        return null;
                                    }
                                }
                                int len = e & 0xff;
                                int size = e >>> 8;
                                if (size > 11) {
                                    return null;
                                }
                                int diff = 0;
                                if (size != 0) {
                                    int v = (int) ((bits << len) >>> (64 - size));
                                    diff = v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
                                }
                                pos += len + size;
                                int previous = pred[c];
                                if (previous >= 0 ? diff > Integer.MAX_VALUE - previous : diff < Integer.MIN_VALUE - previous) {
                                    return null; // libjpeg-turbo stops there
                                }
                                pred[c] = previous + diff;
                                int dcCoef = (short) (previous + diff); // libjpeg keeps coefficients as 16 bits
                                if (size2 == 1) {
                                    int row = (my * vs[c] + by) * pw + mx * hs[c];
                                    plane[row + bx] = RANGE[((dcCoef * qc[0] + 4) >> 3) & 1023];
                                    pos = skipAc(d, pos, acTable); // the AC coefficients are not needed
                                } else {
                                    pos = readAc(d, pos, acTable, coef);
                                    int at = ((my * vs[c] + by) * 2) * pw + (mx * hs[c] + bx) * 2;
                                    if (coef[64] == 0) { // a flat block: what jpeg_idct_2x2 computes then
                                        int z = dcCoef * qc[0];
                                        int x = (z + 4) >> 3;
                                        if (z < Short.MIN_VALUE || z > Short.MAX_VALUE || x < -512 || x > 511) {
                                            return null; // see idct2x2
                                        }
                                        byte v = RANGE[x & 1023];
                                        plane[at] = plane[at + 1] = plane[at + pw] = plane[at + pw + 1] = v;
                                    } else {
                                        coef[0] = dcCoef;
                                        coef[64] = 0;
                                        if (!idct2x2(coef, qc, work, plane, at, pw)) {
                                            return null;
                                        }
                                    }
                                }
                                if (pos < 0) {
                                    return null;
                                }
                            }
                        }
                    }
                    if (pos > dataBits) {
                        return null; // the data ended early: left to libjpeg
                    }
                }
            }
            return toPixels(planes, planeWidth, ss, hMax, vMax, gray);
        }

        ImageCodec.Pixels toPixels(byte[][] planes, int[] planeWidth, int[] ss, int hMax, int vMax, boolean gray) {
            int w = (width + 7) / 8;
            int h = (height + 7) / 8;
            // Upsampling by replication (libjpeg-turbo's smoothing upsampler is not used at this scale).
            int[] hf = new int[n];
            int[] vf = new int[n];
            for (int c = 0; c < n; c++) {
                hf[c] = hMax / (hs[c] * ss[c]);
                vf[c] = vMax / (vs[c] * ss[c]);
            }
            if (n == 1 || gray) {
                byte[] y = planes[0];
                int pw = planeWidth[0];
                int ch = gray ? 1 : 3;
                byte[] out = new byte[w * h * ch];
                int o = 0;
                for (int r = 0; r < h; r++) {
                    int base = (r / vf[0]) * pw;
                    for (int x = 0; x < w; x++) {
                        byte v = y[base + x / hf[0]];
                        for (int k = 0; k < ch; k++) {
                            out[o++] = v;
                        }
                    }
                }
                return new ImageCodec.Pixels(h, w, ch, out);
            }
            byte[] out = new byte[w * h * 3];
            int o = 0;
            for (int r = 0; r < h; r++) {
                int yBase = (r / vf[0]) * planeWidth[0];
                int cbBase = (r / vf[1]) * planeWidth[1];
                int crBase = (r / vf[2]) * planeWidth[2];
                for (int x = 0; x < w; x++) {
                    int yv = planes[0][yBase + x / hf[0]] & 0xff;
                    int cb = planes[1][cbBase + x / hf[1]] & 0xff;
                    int cr = planes[2][crBase + x / hf[2]] & 0xff;
                    out[o++] = clamp(yv + CB_B[cb]);
                    out[o++] = clamp(yv + ((CB_G[cb] + CR_G[cr]) >> 16));
                    out[o++] = clamp(yv + CR_R[cr]);
                }
            }
            return new ImageCodec.Pixels(h, w, 3, out);
        }
    }

    private static byte clamp(int v) {
        return (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /**
     * Skips one block's AC symbols starting at bit {@code pos} of {@code d}; the position after them, or -1
     * for a code the table does not have.
     */
    private static long skipAc(byte[] d, long pos, Huffman table) {
        int[] skip = table.skip;
        int k = 1;
        while (true) {
            // 57 or more bits from one load; entries are applied while 16 of them are left (a code's most).
            long bits = (long) BIG_ENDIAN_LONG.get(d, (int) (pos >>> 3)) << (pos & 7);
            int avail = 64 - (int) (pos & 7);
            int e;
            while ((e = skip[(int) (bits >>> (64 - SKIP_BITS))]) != 0) {
                int used;
                int all = e >>> 18 & 0x7f;
                if (k + all < 64) { // no symbol but an end of block can end this block: all of them
                    used = e >>> 12 & 0x3f;
                    pos += used;
                    if ((e & 1 << 25) != 0) {
                        return pos;
                    }
                    k += all;
                } else { // the first symbol alone
                    used = e & 0x1f;
                    pos += used;
                    k += e >>> 5 & 0x7f;
                    if (k >= 64) {
                        return pos;
                    }
                }
                avail -= used;
                if (avail < 16) {
                    break;
                }
                bits <<= used;
            }
            if (e == 0) { // a code longer than SKIP_BITS bits
                int slow = table.slow(bits);
                if (slow < 0) {
                    return -1;
                }
                int sym = slow >>> 8;
                pos += (slow & 0xff) + (sym & 15);
                k += advance(sym);
                if (k >= 64) {
                    return pos;
                }
            }
        }
    }

    /**
     * Reads one block's AC coefficients from bit {@code pos} into {@code coef} (natural order), those the 2x2
     * inverse DCT uses (rows and columns 0, 1, 3, 5, 7) only; the position after them, or -1 for a code the
     * table does not have.
     */
    private static long readAc(byte[] d, long pos, Huffman table, int[] coef) {
        int[] fast = table.fast;
        int k = 1;
        while (k < 64) {
            long bits = (long) BIG_ENDIAN_LONG.get(d, (int) (pos >>> 3)) << (pos & 7);
            int e = fast[(int) (bits >>> (64 - LOOKUP))];
            if (e == 0) {
                e = table.slow(bits);
                if (e < 0) {
                    return -1;
                }
            }
            int len = e & 0xff;
            int sym = e >>> 8;
            int size = sym & 15;
            int run = sym >> 4;
            if (size != 0) {
                k += run;
                int v = (int) ((bits << len) >>> (64 - size));
                // libjpeg-turbo's natural-order table maps positions past 63 (a damaged run) to 63.
                int at = k < 64 ? NATURAL[k] : 63;
                if (USED_BY_2X2[at]) {
                    coef[at] = v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
                    coef[64] = 1;
                }
                pos += len + size;
                k++;
            } else {
                pos += len;
                if (run != 15) {
                    break;
                }
                k += 16;
            }
        }
        return pos;
    }

    /**
     * libjpeg's jpeg_idct_2x2 (jidctred.c, 13-bit constants): the 2x2 pixels of a block from its dequantised
     * coefficients in rows and columns 0, 1, 3, 5, 7, written at {@code out[at]}, {@code out[at + 1]} and
     * the next row's two; the coefficients it read are zeroed for the next block. False, with nothing
     * written, when a value leaves the range where libjpeg-turbo's C code and its SIMD versions agree (they
     * keep products and the odd terms between the passes in 16 bits, sums in 32, and saturate rather than
     * wrap the output): only damaged data gets there, and libjpeg-turbo then decodes the file itself.
     */
    private static boolean idct2x2(int[] coef, int[] q, long[] ws, byte[] out, int at, int stride) {
        boolean agreed = true;
        for (int col = 0; col < 8; col++) {
            if (col == 2 || col == 4 || col == 6) {
                continue;
            }
            long z0 = dequantised(coef, q, col);
            long z1 = dequantised(coef, q, 8 + col);
            long z3 = dequantised(coef, q, 24 + col);
            long z5 = dequantised(coef, q, 40 + col);
            long z7 = dequantised(coef, q, 56 + col);
            coef[col] = coef[8 + col] = coef[24 + col] = coef[40 + col] = coef[56 + col] = 0;
            long tmp10 = z0 << 15;
            long tmp0 = z7 * -5906L + z5 * 6967L + z3 * -10426L + z1 * 29692L;
            ws[col] = (tmp10 + tmp0 + (1L << 12)) >> 13;
            ws[8 + col] = (tmp10 - tmp0 + (1L << 12)) >> 13;
            long limit = col == 0 ? 1 << 16 : 1 << 15; // column 0 is shifted by 15 in 32 bits; the others kept in 16
            agreed &= (z0 | z1 | z3 | z5 | z7) != Long.MIN_VALUE && fitsInt(tmp10 + tmp0 + (1L << 12))
                    && fitsInt(tmp10 - tmp0 + (1L << 12)) && ws[col] >= -limit && ws[col] < limit
                    && ws[8 + col] >= -limit && ws[8 + col] < limit;
        }
        if (!agreed) {
            return false;
        }
        for (int r = 0; r < 2; r++) {
            int w = r * 8;
            long tmp10 = ws[w] << 15;
            long tmp0 = ws[w + 7] * -5906L + ws[w + 5] * 6967L + ws[w + 3] * -10426L + ws[w + 1] * 29692L;
            long a = tmp10 + tmp0 + (1L << 19);
            long b = tmp10 - tmp0 + (1L << 19);
            if (!fitsInt(a) || !fitsInt(b) || (a >> 20) < -512 || (a >> 20) > 511 || (b >> 20) < -512 || (b >> 20) > 511) {
                return false;
            }
            int o = at + r * stride;
            out[o] = RANGE[(int) (a >> 20) & 1023];
            out[o + 1] = RANGE[(int) (b >> 20) & 1023];
        }
        return true;
    }

    /** coef[i] * q[i], or Long.MIN_VALUE when it does not fit in 16 bits (libjpeg-turbo's SIMD keeps 16). */
    private static long dequantised(int[] coef, int[] q, int i) {
        long z = (long) coef[i] * q[i];
        return z >= Short.MIN_VALUE && z <= Short.MAX_VALUE ? z : Long.MIN_VALUE;
    }

    private static boolean fitsInt(long v) {
        return v == (int) v;
    }

    /** Zigzag position -> natural (row-major) position. */
    private static final int[] NATURAL = {
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
        14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
        46, 53, 60, 61, 54, 47, 55, 62, 63,
    };
    /** Natural positions jpeg_idct_2x2 reads: rows and columns 0, 1, 3, 5, 7. */
    private static final boolean[] USED_BY_2X2 = new boolean[64];

    static {
        for (int i = 0; i < 64; i++) {
            int r = i / 8;
            int c = i % 8;
            USED_BY_2X2[i] = (r < 2 || r % 2 == 1) && (c < 2 || c % 2 == 1);
        }
    }

    /** The coefficients an AC symbol advances: its run + 1, 16 for ZRL, 64 (to the end) for end of block. */
    private static int advance(int sym) {
        int run = sym >> 4;
        return (sym & 15) != 0 ? run + 1 : run == 15 ? 16 : 64;
    }

    /** The index of the next 0xFF byte in b[from, to), or to. */
    private static int nextFF(byte[] b, int from, int to) {
        int i = from;
        while (i + 8 <= to) {
            long x = ~(long) LITTLE_ENDIAN_LONG.get(b, i); // 0xFF bytes become zero bytes
            long z = (x - 0x0101010101010101L) & ~x & 0x8080808080808080L;
            if (z != 0) {
                return i + (Long.numberOfTrailingZeros(z) >>> 3);
            }
            i += 8;
        }
        while (i < to && b[i] != (byte) 0xFF) {
            i++;
        }
        return i;
    }
}
