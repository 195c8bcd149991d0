package io.sparkdl.pipelines;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;

/** {@code spark-dl export-idx}: an IDX image set (MNIST, Fashion-MNIST) as a class-per-folder PNG tree. */
@Command(name = "export-idx", description = "Write an IDX image set (MNIST, Fashion-MNIST) as a class-per-folder "
        + "PNG tree, the layout the other commands read.")
final class ExportIdxCommand extends Job {
    @Option(names = "--images", required = true, paramLabel = "FILE", description = "IDX images (.gz or not).")
    File images;
    @Option(names = "--labels", required = true, paramLabel = "FILE", description = "IDX labels (.gz or not).")
    File labels;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where the folders are written.")
    String out;
    @Option(names = "--per-class", paramLabel = "N", description = "At most N images per class (default: 0, all).")
    int perClass;
    @Option(names = "--limit", paramLabel = "N", description = "Only the first N images of the file (default: 0, "
            + "all), e.g. the same subset as the PyTorch peer's --limit.")
    int limit;
    @Option(names = "--names", paramLabel = "fashion|digits", description = "Folder names: Fashion-MNIST's class "
            + "names or the digits 0-9 (default: fashion).")
    String names = "fashion";
    @Option(names = "--repeat", paramLabel = "K", description = "Copies of each image; copies after the first are "
            + "shifted by a seeded random translation (default: 1).")
    int repeat = 1;
    @Option(names = "--max-shift", paramLabel = "PIXELS", description = "Largest shift of a repeated copy "
            + "(default: 2).")
    int maxShift = 2;
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    @Override
    public Integer call() throws IOException {
        for (File f : new File[]{images, labels}) {
            if (!f.isFile()) {
                throw new UsageException("file " + f + " does not exist");
            }
        }
        if (!names.equals("fashion") && !names.equals("digits")) {
            throw new UsageException("--names must be fashion or digits but was " + names);
        }
        if (perClass < 0 || repeat < 1 || maxShift < 0 || limit < 0) {
            throw new UsageException("--per-class, --limit and --max-shift must be >= 0 and --repeat >= 1");
        }
        OutputPaths outputs = new OutputPaths("export-idx", overwrite.value, new org.apache.hadoop.conf.Configuration())
                .input("--images", images.getPath()).input("--labels", labels.getPath())
                .output("--out", out, OutputPaths.Kind.IMAGES).check();
        int[] n = new int[1];
        outputs.write(out, OutputPaths.Kind.IMAGES, tmp -> n[0] = ExportIdx.export(images, labels,
                new File(new org.apache.hadoop.fs.Path(tmp).toUri().getPath()), perClass,
                names.equals("fashion") ? ExportIdx.FASHION : null, repeat, maxShift, limit));
        System.out.println("wrote " + n[0] + " images to " + out);
        return 0;
    }
}
