package io.sparkdl.pipelines;

import io.sparkdl.eval.ClassificationMetrics;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code spark-dl evaluate}: accuracy, F1 and a confusion matrix of a saved model on labelled images. */
@Command(name = "evaluate", description = "Measure a saved model (CNN or ensemble) on a class-per-folder image "
        + "tree: accuracy, weighted F1, per-class metrics and the confusion matrix.")
final class EvaluateCommand extends Job {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateCommand.class);

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Labelled images: one folder per "
            + "class.")
    String data;
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model train saved.")
    String model;
    @Mixin
    final SharedOptions.Master master = new SharedOptions.Master();
    @Mixin
    final SharedOptions.MetricsJson metricsJson = new SharedOptions.MetricsJson();
    @Mixin
    final SharedOptions.ReportDir reportDir = new SharedOptions.ReportDir();
    @Mixin
    final SharedOptions.FailOnBadFiles failOnBadFiles = new SharedOptions.FailOnBadFiles();
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    @Override
    public Integer call() throws IOException {
        String dataDir = Jobs.existingDir(data, "--data");
        String modelDir = Jobs.existingDir(model, "--model");
        SparkSession spark = Jobs.session(master.value, "spark-dl evaluate");
        try {
            OutputPaths outputs = new OutputPaths("evaluate", overwrite.value, spark.sparkContext().hadoopConfiguration())
                    .input("--data", dataDir).input("--model", modelDir)
                    .output("--metrics-json", metricsJson.value, OutputPaths.Kind.METRICS)
                    .output("--report-dir", reportDir.value, OutputPaths.Kind.REPORT).check();
            Jobs.AnyModel m = Jobs.AnyModel.load(modelDir, spark);
            int[] s = m.inputShape();
            Jobs.Loaded in = Jobs.load(spark, dataDir, s[0], s[1], s[2], failOnBadFiles.value, true);
            long t0 = System.nanoTime();
            ClassificationMetrics cm = ClassificationMetrics.compute(m.transform(in.good()), "label", "prediction",
                    m.labels());
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (cm.unknown() > 0) {
                LOG.warn("{} images have labels the model does not know; they are not counted", cm.unknown());
            }
            System.out.printf("accuracy %.4f, weighted F1 %.4f on %d images%n", cm.accuracy(), cm.weightedF1(),
                    cm.total());
            Map<String, Object> out = Jobs.metrics(cm, in);
            out.put("unknownLabelImages", cm.unknown());
            Jobs.writeMetrics(metricsJson.value, outputs, out);
            if (reportDir.value != null) {
                Map<String, Object> facts = new LinkedHashMap<>();
                facts.put("data", dataDir);
                facts.put("model", modelDir);
                facts.put("images evaluated", cm.total());
                facts.put("bad files", in.bad().size());
                facts.put("images with labels the model does not know", cm.unknown());
                facts.put("prediction time (s, decoded images)", seconds);
                facts.put("prediction images/s", cm.total() / seconds);
                Jobs.report(reportDir.value, outputs, "spark-dl evaluate: " + new File(modelDir).getName(), facts,
                        m.history(), cm, m.transform(in.good()), m.labels(), in.bad());
            }
            return 0;
        } finally {
            spark.stop();
        }
    }
}
