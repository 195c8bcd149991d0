package io.sparkdl.pipelines;

import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.eval.ClusteringMetrics;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.report.HtmlReport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * {@code spark-dl cluster}: k-means ({@link ImageKMeans}) of images' pixels or CNN embeddings, optionally
 * after PCA ({@link ImagePCA}); the clustering options are those stages' params.
 */
@Command(name = "cluster", description = "Cluster images with k-means on their pixels or a trained CNN's "
        + "embeddings, optionally after PCA; writes the assignments, the fitted pipeline, metrics and a report.")
final class ClusterCommand extends Job {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterCommand.class);

    final ImageKMeans kmeans = new ImageKMeans();
    final ImagePCA pca = new ImagePCA();
    final ImageDecoder decoder = new ImageDecoder();

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Images (class folders, if any, "
            + "give the NMI against the labels).")
    String data;
    @Option(names = "--features", paramLabel = "pixels|cnn:DIR", description = "What is clustered: the pixels, or "
            + "the embeddings of the CnnClassifierModel in DIR (default: pixels).")
    String features = "pixels";
    @Option(names = "--image-size", paramLabel = "HxW", description = "Decode at this size (pixels; default 28x28).")
    String imageSize;
    @Option(names = "--out", paramLabel = "DIR", description = "Write the assignments (path, label, cluster, "
            + "distance).")
    String out;
    @Mixin
    final SharedOptions.OutputFormat format = new SharedOptions.OutputFormat();
    @Option(names = "--model", paramLabel = "DIR", description = "Save the fitted pipeline (featurizer, PCA, "
            + "k-means).")
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
    void addParamOptions(CommandSpec spec) {
        params.add(spec, kmeans, "k", "maxIter", "tol", "seed")
                .addAs(spec, pca, "k", "pca", "no PCA; given: ImagePCA to N components before k-means")
                .add(spec, decoder, "channels");
    }

    /** Whether PCA runs: {@code --pca N} (or a definition's preprocessing.pca). */
    boolean withPca;

    @Override
    public Integer call() throws IOException {
        params.apply();
        withPca |= params.given("--pca");
        String dataDir = Jobs.existingDir(data, "--data");
        String feat = features;
        if (feat.startsWith("cnn:")) {
            feat = "cnn:" + Jobs.existingDir(feat.substring(4), "--features cnn:");
        } else if (!feat.equals("pixels")) {
            throw new UsageException("--features must be pixels or cnn:MODEL_DIR but was " + feat);
        }
        if (out != null) {
            format.checked();
        }
        int[] size = Jobs.parseSize(imageSize);
        int channels = decoder.getChannels();
        SparkSession spark = Jobs.session(master.value, "spark-dl cluster");
        try {
            OutputPaths outputs = new OutputPaths("cluster", overwrite.value, spark.sparkContext().hadoopConfiguration())
                    .input("--data", dataDir).input("--features", feat.startsWith("cnn:") ? feat.substring(4) : null)
                    .output("--out", out, OutputPaths.Kind.CLUSTERS)
                    .output("--model", model, OutputPaths.Kind.MODEL)
                    .output("--metrics-json", metricsJson.value, OutputPaths.Kind.METRICS)
                    .output("--report-dir", reportDir.value, OutputPaths.Kind.REPORT).check();
            long t0 = System.nanoTime();
            int h = size != null ? size[0] : 0;
            int w = size != null ? size[1] : 0;
            CnnClassifierModel cnn = null;
            if (feat.startsWith("cnn:")) {
                cnn = CnnClassifierModel.load(feat.substring(4));
                int[] s = cnn.inputShape();
                h = s[0];
                w = s[1];
                channels = s[2];
            } else if (size == null) {
                // pixel vectors need one size for all images
                h = 28;
                w = 28;
                channels = channels == 0 ? 1 : channels;
            }
            Jobs.Loaded in = Jobs.load(spark, dataDir, h, w, channels, failOnBadFiles.value, false);
            Dataset<Row> rows = in.good();
            String column = "image";
            if (cnn != null) {
                rows = new CnnFeaturizer(cnn).setOutputCol("embedding").transform(rows);
                column = "embedding";
            }
            rows = rows.persist(StorageLevel.MEMORY_AND_DISK());
            ImagePCAModel pcaModel = null;
            if (withPca) {
                pcaModel = pca.setInputCol(column).setOutputCol("pca").setSeed(kmeans.getSeed()).fit(rows);
                rows = pcaModel.transform(rows);
                column = "pca";
            }
            // more clusters than distinct images: ImageKMeans fits the clusters there are, with a warning
            ImageKMeansModel km = kmeans.setFeaturesCol(column).fit(rows);
            Dataset<Row> clustered = km.transform(rows).persist(StorageLevel.MEMORY_AND_DISK());
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean labelled = clustered.where(col("label").isNotNull()).limit(1).count() > 0;
            double nmi = labelled ? ClusteringMetrics.nmi(clustered, "cluster", "label") : Double.NaN;
            System.out.printf("%d images in %d clusters, inertia %.6g, %d iterations%s, %.1f s%n", in.numGood(),
                    km.k(), km.trainingCost(), km.iterations(), labelled
                            ? String.format(", NMI against the folder labels %.4f", nmi) : "", seconds);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("numImages", in.numGood());
            m.put("badFiles", in.bad());
            m.put("features", feat + (withPca ? " + pca " + pca.getK() : ""));
            m.put("k", km.k());
            m.put("requestedK", kmeans.getK());
            m.put("inertia", km.trainingCost());
            m.put("iterations", km.iterations());
            m.put("clusterSizes", km.clusterSizes());
            m.put("nmi", labelled ? nmi : null);
            m.put("seconds", seconds);
            if (pcaModel != null) {
                m.put("pcaExplainedVariance", java.util.Arrays.stream(pcaModel.explainedVarianceRatio().toArray()).sum());
            }
            if (out != null) {
                writeAssignments(clustered, outputs);
                m.put("output", out);
            }
            if (model != null) {
                savePipeline(cnn, pcaModel, km, outputs);
                m.put("model", model);
            }
            Jobs.writeMetrics(metricsJson.value, outputs, m);
            if (reportDir.value != null) {
                report(outputs, clustered, column, km, m);
            }
            clustered.unpersist();
            rows.unpersist();
            return 0;
        } finally {
            spark.stop();
        }
    }

    private void writeAssignments(Dataset<Row> clustered, OutputPaths outputs) {
        var writer = clustered.select(col("path"), col("label"), col("cluster"), col("distance")).write();
        outputs.write(out, OutputPaths.Kind.CLUSTERS, tmp -> {
            if (format.value.equals("csv")) { // checked in call()
                writer.option("header", "true").csv(tmp);
            } else {
                writer.parquet(tmp);
            }
        });
    }

    private void savePipeline(CnnClassifierModel cnn, ImagePCAModel pcaModel, ImageKMeansModel km,
                              OutputPaths outputs) {
        List<org.apache.spark.ml.Transformer> stages = new ArrayList<>();
        if (cnn != null) {
            stages.add(new CnnFeaturizer(cnn).setOutputCol("embedding"));
        }
        if (pcaModel != null) {
            stages.add(pcaModel);
        }
        stages.add(km);
        var pipeline = io.sparkdl.io.SparkMLInternals.pipelineModel("cluster-" + java.util.UUID.randomUUID(),
                stages.toArray(new org.apache.spark.ml.Transformer[0]));
        outputs.write(model, OutputPaths.Kind.MODEL, tmp -> pipeline.write().save(tmp));
        LOG.info("Saved the fitted {} pipeline to {}", stages.size() == 1 ? "k-means" : "feature + k-means", model);
    }

    private void report(OutputPaths outputs, Dataset<Row> clustered, String featureCol, ImageKMeansModel km,
                        Map<String, Object> facts) {
        long seed = kmeans.getSeed();
        // 2-D view: the first two principal components of the clustered features, on a sample
        long n = clustered.count();
        Dataset<Row> sample = n > 3000 ? clustered.sample(false, 3000.0 / n, seed) : clustered;
        ImagePCAModel two = new ImagePCA().setInputCol(featureCol).setOutputCol("xy").setK(2).setSeed(seed)
                .fit(sample);
        List<Row> pts = two.transform(sample).select("xy", "cluster").collectAsList();
        double[][] xy = new double[pts.size()][];
        int[] group = new int[pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            xy[i] = ((org.apache.spark.ml.linalg.Vector) pts.get(i).get(0)).toArray();
            group[i] = pts.get(i).getInt(1);
        }
        String[] names = new String[km.k()];
        for (int c = 0; c < km.k(); c++) {
            names[c] = "cluster " + c + " (" + km.clusterSizes()[c] + ")";
        }
        // montage: the 8 images nearest each centre
        List<Row> nearest = clustered.withColumn("rank", org.apache.spark.sql.functions.row_number().over(
                        org.apache.spark.sql.expressions.Window.partitionBy("cluster").orderBy("distance")))
                .where(col("rank").leq(8)).orderBy("cluster", "rank").select("image", "cluster", "label", "distance")
                .collectAsList();
        List<HtmlReport.Tile> tiles = new ArrayList<>();
        for (Row r : nearest) {
            try {
                tiles.add(new HtmlReport.Tile(HtmlReport.toPng(io.sparkdl.image.ImageStruct.pixels(r.getStruct(0)), 96),
                        String.format("cluster %d%s, distance %.2f", r.getInt(1),
                                r.isNullAt(2) ? "" : " (" + r.get(2) + ")", r.getDouble(3))));
            } catch (io.sparkdl.image.ImageCodec.DecodeException e) {
                // an undecodable struct cannot be clustered either; nothing to show
            }
        }
        Map<String, Object> shown = new LinkedHashMap<>(facts);
        shown.remove("badFiles");
        shown.put("clusterSizes", java.util.Arrays.toString(km.clusterSizes()));
        HtmlReport r = new HtmlReport("spark-dl cluster: " + data).facts("Run", shown)
                .scatter("First two principal components, coloured by cluster", "PC 1", "PC 2", xy, group, names)
                .gallery("Images nearest each centre", tiles);
        String path = Jobs.writeReport(outputs, reportDir.value, r, clustered.sparkSession().sparkContext()
                .hadoopConfiguration());
        LOG.info("Wrote report to {}", path);
        System.out.println("report: " + path);
    }
}
