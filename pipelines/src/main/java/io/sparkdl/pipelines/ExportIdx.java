package io.sparkdl.pipelines;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;

/**
 * Writes an IDX image set (MNIST, Fashion-MNIST) as a class-per-folder PNG tree, the layout spark-dl
 * reads. Used to make test-data/ and the benchmark folders.
 */
public final class ExportIdx {
    public static final String[] FASHION = {"tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
            "sneaker", "bag", "ankle-boot"};

    private ExportIdx() {
    }

    /**
     * @param perClass at most this many images per class (0 = all)
     * @param names    folder name per class index, or null for "0".."9"
     * @return images written
     */
    static int export(File images, File labels, File out, int perClass, String[] names) throws IOException {
        return export(images, labels, out, perClass, names, 1, 0, 0);
    }

    /**
     * @param repeat copies of each image; copy r > 0 is shifted by a seeded random translation of up to
     *               {@code maxShift} pixels (an augmented copy, not a byte-identical file)
     * @param limit  only the first {@code limit} images of the file (0 = all), as the PyTorch peer's
     *               {@code --limit}: the same subset on both sides
     */
    static int export(File images, File labels, File out, int perClass, String[] names, int repeat, int maxShift,
                      int limit) throws IOException {
        Idx.Images im = Idx.readImages(images);
        byte[][] pix = im.pixels();
        int rows = im.rows();
        int cols = im.cols();
        byte[] lab = Idx.readLabels(labels);
        int[] written = new int[256];
        int total = 0;
        int end = limit > 0 ? Math.min(limit, pix.length) : pix.length;
        for (int i = 0; i < end; i++) {
            int c = lab[i] & 0xff;
            if (perClass > 0 && written[c] >= perClass) {
                continue;
            }
            File dir = new File(out, names != null && c < names.length ? names[c] : Integer.toString(c));
            if (!dir.isDirectory() && !dir.mkdirs()) {
                throw new IOException("Cannot create " + dir);
            }
            java.util.Random rnd = new java.util.Random(i);
            for (int r = 0; r < repeat; r++) {
                byte[] p = pix[i];
                if (r > 0) {
                    p = shift(p, rows, cols, rnd.nextInt(2 * maxShift + 1) - maxShift,
                            rnd.nextInt(2 * maxShift + 1) - maxShift);
                }
                BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
                img.getRaster().setDataElements(0, 0, cols, rows, p);
                String name = repeat == 1 ? String.format("%05d.png", i) : String.format("%05d-%02d.png", i, r);
                ImageIO.write(img, "png", new File(dir, name));
                total++;
            }
            written[c]++;
        }
        return total;
    }


    static byte[] shift(byte[] p, int rows, int cols, int dy, int dx) {
        byte[] out = new byte[p.length];
        for (int y = 0; y < rows; y++) {
            int sy = y - dy;
            if (sy < 0 || sy >= rows) {
                continue;
            }
            for (int x = 0; x < cols; x++) {
                int sx = x - dx;
                if (sx >= 0 && sx < cols) {
                    out[y * cols + x] = p[sy * cols + sx];
                }
            }
        }
        return out;
    }
}
