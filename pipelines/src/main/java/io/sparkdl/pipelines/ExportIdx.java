package io.sparkdl.pipelines;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;

/**
 * Writes an IDX image set (MNIST, Fashion-MNIST) as a class-per-folder PNG tree, the layout spark-dl
 * reads. Used to make test-data/ and the benchmark folders.
 */
final class ExportIdx {
    static final String[] FASHION = {"tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
            "sneaker", "bag", "ankle-boot"};

    private ExportIdx() {
    }

    /**
     * @param perClass at most this many images per class (0 = all)
     * @param names    folder name per class index, or null for "0".."9"
     * @return images written
     */
    static int export(File images, File labels, File out, int perClass, String[] names) throws IOException {
        Idx.Images im = Idx.readImages(images);
        byte[][] pix = im.pixels();
        int rows = im.rows();
        int cols = im.cols();
        byte[] lab = Idx.readLabels(labels);
        int[] written = new int[256];
        int total = 0;
        for (int i = 0; i < pix.length; i++) {
            int c = lab[i] & 0xff;
            if (perClass > 0 && written[c] >= perClass) {
                continue;
            }
            File dir = new File(out, names != null && c < names.length ? names[c] : Integer.toString(c));
            if (!dir.isDirectory() && !dir.mkdirs()) {
                throw new IOException("Cannot create " + dir);
            }
            BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, cols, rows, pix[i]);
            ImageIO.write(img, "png", new File(dir, String.format("%05d.png", i)));
            written[c]++;
            total++;
        }
        return total;
    }

}
