package io.sparkdl.pipelines;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.apache.spark.ml.functions.vector_to_array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

/** {@code spark-dl predict}: one row per file (path, predicted label, probabilities, error) as Parquet or CSV. */
@Command(name = "predict", description = "Predict the class of every image under a folder with a saved model; "
        + "writes one row per file: path, predictedLabel, probability, error. Its metrics are counts (images, bad "
        + "files).")
final class PredictCommand extends Job {
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Images (any folder layout).")
    String data;
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model train saved.")
    String model;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where the predictions are written "
            + "(a file that cannot be decoded gets a row with the error, unless --fail-on-bad-files).")
    String out;
    @Mixin
    final SharedOptions.OutputFormat format = new SharedOptions.OutputFormat();
    @Mixin
    final SharedOptions.Master master = new SharedOptions.Master();
    @Mixin
    final SharedOptions.MetricsJson metricsJson = new SharedOptions.MetricsJson();
    @Mixin
    final SharedOptions.FailOnBadFiles failOnBadFiles = new SharedOptions.FailOnBadFiles();
    @Mixin
    final SharedOptions.Overwrite overwrite = new SharedOptions.Overwrite();

    @Override
    public Integer call() throws IOException {
        String dataDir = Jobs.existingDir(data, "--data");
        String modelDir = Jobs.existingDir(model, "--model");
        String fmt = format.checked();
        SparkSession spark = Jobs.session(master.value, "spark-dl predict");
        try {
            OutputPaths outputs = new OutputPaths("predict", overwrite.value, spark.sparkContext().hadoopConfiguration())
                    .input("--data", dataDir).input("--model", modelDir)
                    .output("--out", out, OutputPaths.Kind.PREDICTIONS)
                    .output("--metrics-json", metricsJson.value, OutputPaths.Kind.METRICS).check();
            Jobs.AnyModel m = Jobs.AnyModel.load(modelDir, spark);
            int[] s = m.inputShape();
            Jobs.Loaded in = Jobs.load(spark, dataDir, s[0], s[1], s[2], failOnBadFiles.value, false);
            Dataset<Row> pred = m.transform(in.all().drop("content"));
            // Bad files keep their row with a null prediction; vector_to_array does not accept null.
            org.apache.spark.sql.Column probs = when(col("probability").isNotNull(),
                    vector_to_array(col("probability"), "float64"));
            Dataset<Row> rows = pred.select(col("path"), col("predictedLabel"),
                    (fmt.equals("csv") ? to_json(probs) : probs).as("probability"), col("decodeError").as("error"));
            outputs.write(out, OutputPaths.Kind.PREDICTIONS, tmp -> {
                if (fmt.equals("csv")) {
                    rows.write().option("header", "true").csv(tmp);
                } else {
                    rows.write().parquet(tmp);
                }
            });
            long n = spark.read().format(fmt).option("header", "true").load(out).count();
            System.out.printf("wrote %d predictions to %s (%d bad files)%n", n, out, in.bad().size());
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("numImages", in.numGood());
            metrics.put("badFiles", in.bad());
            metrics.put("output", out);
            Jobs.writeMetrics(metricsJson.value, outputs, metrics);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
