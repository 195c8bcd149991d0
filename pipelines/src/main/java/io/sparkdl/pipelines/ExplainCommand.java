package io.sparkdl.pipelines;

import io.sparkdl.classification.CnnClassifierModel;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

/** {@code spark-dl explain}: a saliency map of one image as a PNG (input, heat map, overlay). */
@Command(name = "explain", description = "Saliency map of one image: where it makes the predicted (or the named) "
        + "class more likely; a PNG of the image, the heat map and the overlay.")
final class ExplainCommand extends Job {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A CnnClassifierModel train saved.")
    String model;
    @Option(names = "--image", required = true, paramLabel = "FILE", description = "The image to explain.")
    String image;
    @Option(names = "--out", required = true, paramLabel = "PNG", description = "Where the PNG is written.")
    String out;
    @Option(names = "--class", paramLabel = "NAME", description = "Explain this class (default: the predicted one).")
    String className;
    @Mixin
    final SharedOptions.Master master = new SharedOptions.Master();
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    @Override
    public Integer call() throws IOException {
        String modelDir = Jobs.existingDir(model, "--model");
        File file = new File(image);
        if (!file.isFile()) {
            throw new UsageException("--image " + file + " is not a file");
        }
        io.sparkdl.image.ImageCodec.Pixels px;
        try {
            px = io.sparkdl.image.ImageCodec.decode(Files.readAllBytes(file.toPath()), 0);
        } catch (io.sparkdl.image.ImageCodec.DecodeException e) {
            throw new UsageException("--image " + file + " cannot be decoded: " + e.getMessage());
        }
        SparkSession spark = Jobs.session(master.value, "spark-dl explain");
        try {
            String cls = io.sparkdl.io.SparkMLInternals.stageClassName(modelDir, spark.sparkContext());
            if (!cls.equals(CnnClassifierModel.class.getName())) {
                throw new UsageException("--model " + modelDir + " holds a " + cls
                        + "; explain needs a CnnClassifierModel (explain an ensemble's members one by one)");
            }
            CnnClassifierModel m = CnnClassifierModel.load(modelDir);
            if (className != null && !List.of(m.labels()).contains(className)) {
                throw new UsageException("--class " + className + " is not one of the model's classes "
                        + List.of(m.labels()));
            }
            OutputPaths outputs = new OutputPaths("explain", overwrite.value, spark.sparkContext().hadoopConfiguration())
                    .input("--model", modelDir).input("--image", file.getPath())
                    .output("--out", out, OutputPaths.Kind.PNG).check();
            io.sparkdl.explain.Saliency.Result r = m.saliency(px, className);
            String[] labels = m.labels();
            String caption = String.format("%s: saliency of '%s' (p=%.3f); predicted '%s'", file.getName(),
                    labels[r.classIndex()], r.probability(), labels[r.predicted()]);
            outputs.writeBytes(out, OutputPaths.Kind.PNG, markedPng(io.sparkdl.explain.Saliency.render(r, caption)));
            System.out.println(caption + " -> " + out);
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** A PNG carrying the tEXt mark by which {@link OutputPaths} knows it as explain's own. */
    private static byte[] markedPng(BufferedImage img) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("png").next();
        IIOMetadata meta = w.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img),
                w.getDefaultWriteParam());
        IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
        entry.setAttribute("keyword", "Software");
        entry.setAttribute("value", OutputPaths.PNG_MARK);
        IIOMetadataNode text = new IIOMetadataNode("tEXt");
        text.appendChild(entry);
        IIOMetadataNode root = new IIOMetadataNode("javax_imageio_png_1.0");
        root.appendChild(text);
        meta.mergeTree("javax_imageio_png_1.0", root);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(ios);
            w.write(new IIOImage(img, null, meta));
        } finally {
            w.dispose();
        }
        return bytes.toByteArray();
    }
}
