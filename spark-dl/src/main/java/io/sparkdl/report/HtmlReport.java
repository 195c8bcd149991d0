package io.sparkdl.report;

import io.sparkdl.eval.ClassificationMetrics;
import io.sparkdl.image.ImageCodec;
import io.sparkdl.image.ImageStruct;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.train.EpochStats;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * A self-contained HTML report (one {@code index.html}, charts as embedded PNGs drawn by JFreeChart,
 * images as embedded PNGs), built section by section:
 * <pre>{@code
 * new HtmlReport("spark-dl train").facts(timings).trainingCurves(summary.history())
 *     .confusion(metrics).gallery("Misclassified", HtmlReport.misclassified(predictions, 24))
 *     .write("reports/run-42", hadoopConf);
 * }</pre>
 */
public final class HtmlReport {
    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)};

    private final String title;
    private final StringBuilder body = new StringBuilder();

    public HtmlReport(String title) {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        this.title = title;
    }

    /** One picture with a caption (a gallery tile). */
    public record Tile(byte[] png, String caption) {
    }

    /** A table of name/value facts (timings, images/s, data, parameters). */
    public HtmlReport facts(String heading, Map<String, ?> facts) {
        body.append("<h2>").append(esc(heading)).append("</h2>\n<table class=\"facts\">\n");
        facts.forEach((k, v) -> body.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(format(v)))
                .append("</td></tr>\n"));
        body.append("</table>\n");
        return this;
    }

    /** Loss per epoch, and train versus validation accuracy per epoch. */
    public HtmlReport trainingCurves(List<EpochStats> history) {
        body.append("<h2>Training curves</h2>\n");
        if (history.isEmpty()) {
            body.append("<p>No epochs were run.</p>\n");
            return this;
        }
        XYSeries loss = new XYSeries("training loss");
        XYSeries train = new XYSeries("train accuracy");
        XYSeries val = new XYSeries("validation accuracy");
        for (EpochStats e : history) {
            if (!Double.isNaN(e.loss())) {
                loss.add(e.epoch(), e.loss());
            }
            train.add(e.epoch(), e.trainAccuracy());
            if (!Double.isNaN(e.validationAccuracy())) {
                val.add(e.epoch(), e.validationAccuracy());
            }
        }
        XYSeriesCollection acc = new XYSeriesCollection(train);
        if (val.getItemCount() > 0) {
            acc.addSeries(val);
        }
        body.append("<div class=\"row\">")
                .append(img(png(lineChart("Loss per epoch", "loss", new XYSeriesCollection(loss)), 560, 360),
                        "loss per epoch"))
                .append(img(png(lineChart("Accuracy per epoch", "accuracy", acc), 560, 360), "accuracy per epoch"))
                .append("</div>\n");
        return this;
    }

    /** The confusion matrix as a heat map (rows: true class, normalised per row) and per-class metrics. */
    public HtmlReport confusion(ClassificationMetrics m) {
        String[] labels = m.labels();
        int k = labels.length;
        long[][] c = m.confusionMatrix();
        double[] xs = new double[k * k];
        double[] ys = new double[k * k];
        double[] zs = new double[k * k];
        for (int t = 0; t < k; t++) {
            long row = 0;
            for (long v : c[t]) {
                row += v;
            }
            for (int p = 0; p < k; p++) {
                int i = t * k + p;
                xs[i] = p;
                ys[i] = t;
                zs[i] = row == 0 ? 0 : (double) c[t][p] / row;
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("share of true class", new double[][]{xs, ys, zs});
        SymbolAxis x = new SymbolAxis("predicted", labels);
        SymbolAxis y = new SymbolAxis("true", labels);
        x.setVerticalTickLabels(true);
        y.setInverted(true);
        XYBlockRenderer r = new XYBlockRenderer();
        PaintScale scale = new BlueScale();
        r.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        if (k <= 20) {
            Font f = new Font(Font.SANS_SERIF, Font.PLAIN, k <= 10 ? 12 : 9);
            for (int t = 0; t < k; t++) {
                for (int p = 0; p < k; p++) {
                    XYTextAnnotation a = new XYTextAnnotation(Long.toString(c[t][p]), p, t);
                    a.setFont(f);
                    a.setPaint(zs[t * k + p] > 0.5 ? Color.WHITE : Color.BLACK);
                    plot.addAnnotation(a);
                }
            }
        }
        JFreeChart chart = new JFreeChart("Confusion matrix (" + m.total() + " images, accuracy "
                + String.format(Locale.ROOT, "%.4f", m.accuracy()) + ")", JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        NumberAxis legendAxis = new NumberAxis("share of the true class");
        legendAxis.setRange(0, 1);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(4, 4, 40, 4);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        int size = Math.max(520, 60 + 45 * k);
        body.append("<h2>Confusion matrix</h2>\n")
                .append(img(png(chart, size + 120, size), "confusion matrix heat map")).append('\n');
        body.append("<h2>Per-class metrics</h2>\n<table class=\"metrics\"><tr><th>class</th><th>precision</th>"
                + "<th>recall</th><th>F1</th><th>support</th></tr>\n");
        for (int i = 0; i < k; i++) {
            body.append(String.format(Locale.ROOT,
                    "<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%d</td></tr>%n",
                    esc(labels[i]), m.precision(i), m.recall(i), m.f1(i), m.support(i)));
        }
        body.append(String.format(Locale.ROOT,
                "<tr class=\"total\"><td>all</td><td colspan=\"2\">accuracy %.4f</td><td>%.4f (weighted)</td>"
                        + "<td>%d</td></tr>%n</table>%n", m.accuracy(), m.weightedF1(), m.total()));
        return this;
    }

    /** A 2-D scatter plot, points coloured by group (for example PCA components coloured by cluster). */
    public HtmlReport scatter(String heading, String xLabel, String yLabel, double[][] points, int[] group,
                              String[] groupNames) {
        XYSeriesCollection data = new XYSeriesCollection();
        List<XYSeries> series = new ArrayList<>();
        for (String g : groupNames) {
            XYSeries s = new XYSeries(g);
            series.add(s);
            data.addSeries(s);
        }
        for (int i = 0; i < points.length; i++) {
            series.get(group[i]).add(points[i][0], points[i][1], false);
        }
        XYShapeRenderer r = new XYShapeRenderer();
        for (int g = 0; g < groupNames.length; g++) {
            r.setSeriesPaint(g, color(g));
            r.setSeriesShape(g, new java.awt.geom.Ellipse2D.Double(-2, -2, 4, 4));
        }
        XYPlot plot = new XYPlot(data, new NumberAxis(xLabel), new NumberAxis(yLabel), r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        JFreeChart chart = new JFreeChart(heading, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        body.append("<h2>").append(esc(heading)).append("</h2>\n").append(img(png(chart, 760, 560), heading))
                .append('\n');
        return this;
    }

    /** Pictures in a grid, each with its caption. */
    public HtmlReport gallery(String heading, List<Tile> tiles) {
        body.append("<h2>").append(esc(heading)).append("</h2>\n");
        if (tiles.isEmpty()) {
            body.append("<p>None.</p>\n");
            return this;
        }
        body.append("<div class=\"gallery\">\n");
        for (Tile t : tiles) {
            body.append("<figure><img src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(t.png()))
                    .append("\" alt=\"").append(esc(t.caption())).append("\"><figcaption>").append(esc(t.caption()))
                    .append("</figcaption></figure>\n");
        }
        body.append("</div>\n");
        return this;
    }

    /** Free text (escaped), as a paragraph. */
    public HtmlReport paragraph(String text) {
        body.append("<p>").append(esc(text)).append("</p>\n");
        return this;
    }

    /**
     * Up to {@code n} misclassified rows of a CnnClassifierModel's output as tiles captioned with the true
     * and predicted labels and the predicted probability. Expects the columns {@code image} (image struct),
     * {@code label} (class name), {@code predictedLabel} and {@code probability}; {@code path} when present.
     */
    public static List<Tile> misclassified(Dataset<Row> predictions, String[] labels, int n) {
        Dataset<Row> p = predictions.where(col("label").isNotNull().and(col("predictedLabel").isNotNull())
                .and(col("label").cast("string").notEqual(col("predictedLabel"))));
        boolean hasPath = List.of(p.columns()).contains("path");
        List<Row> rows = p.select(col("image"), col("label").cast("string"), col("predictedLabel"),
                col("probability"), hasPath ? col("path") : org.apache.spark.sql.functions.lit(null).cast("string"))
                .limit(n).collectAsList();
        List<Tile> tiles = new ArrayList<>();
        for (Row r : rows) {
            ImageCodec.Pixels px;
            try {
                px = ImageStruct.pixels(r.getStruct(0));
            } catch (ImageCodec.DecodeException e) {
                continue;
            }
            Vector prob = (Vector) r.get(3);
            double pp = prob.apply(prob.argmax());
            String file = r.isNullAt(4) ? "" : " (" + r.getString(4).replaceAll(".*/", "") + ")";
            tiles.add(new Tile(toPng(px, 96), String.format(Locale.ROOT, "true %s, predicted %s (p=%.2f)%s",
                    r.getString(1), r.getString(2), pp, file)));
        }
        return tiles;
    }

    /** Pixels (gray or BGR, as in image structs) as a PNG about {@code targetSize} pixels on its long side. */
    public static byte[] toPng(ImageCodec.Pixels px, int targetSize) {
        int scale = Math.max(1, targetSize / Math.max(px.height(), px.width()));
        BufferedImage img = new BufferedImage(px.width() * scale, px.height() * scale, BufferedImage.TYPE_INT_RGB);
        byte[] d = px.data();
        for (int y = 0; y < px.height(); y++) {
            for (int x = 0; x < px.width(); x++) {
                int rgb;
                if (px.channels() == 1) {
                    int g = d[y * px.width() + x] & 0xff;
                    rgb = g << 16 | g << 8 | g;
                } else {
                    int o = (y * px.width() + x) * px.channels();
                    rgb = (d[o + 2] & 0xff) << 16 | (d[o + 1] & 0xff) << 8 | (d[o] & 0xff);
                }
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        img.setRGB(x * scale + dx, y * scale + dy, rgb);
                    }
                }
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The page as HTML text. */
    public String html() {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title>\n"
                + "<style>body{font-family:sans-serif;margin:24px;color:#222;background:#fff}"
                + "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
                + "text-align:left}th{background:#f2f2f2}.metrics td{text-align:right}.metrics td:first-child"
                + "{text-align:left}.total td{font-weight:bold}.row{display:flex;flex-wrap:wrap;gap:12px}"
                + ".gallery{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:140px;font-size:11px}"
                + "figure img{width:96px;height:96px;image-rendering:pixelated;border:1px solid #999}</style>\n"
                + "</head><body>\n<h1>" + esc(title) + "</h1>\n" + body + "</body></html>\n";
    }

    /** Writes {@code DIR/index.html} (local path or any Hadoop FileSystem URI). */
    public String write(String dir, Configuration conf) {
        String path = dir.replaceAll("/+$", "") + "/index.html";
        HadoopFiles.writeString(path, html(), conf);
        return path;
    }

    // ---------------------------------------------------------------- charts

    private static JFreeChart lineChart(String title, String yLabel, XYSeriesCollection data) {
        NumberAxis x = new NumberAxis("epoch");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        NumberAxis y = new NumberAxis(yLabel);
        y.setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            r.setSeriesPaint(i, color(i));
            r.setSeriesStroke(i, new BasicStroke(2f));
        }
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static Color color(int i) {
        Color c = PALETTE[i % PALETTE.length];
        return i < PALETTE.length ? c : c.darker();
    }

    private static byte[] png(JFreeChart chart, int w, int h) {
        try {
            return ChartUtils.encodeAsPNG(chart.createBufferedImage(w, h));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String img(byte[] png, String alt) {
        return "<img src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\" alt=\""
                + esc(alt) + "\">";
    }

    private static String format(Object v) {
        if (v instanceof Double d) {
            return Math.abs(d) >= 100 ? String.format(Locale.ROOT, "%,.0f", d) : String.format(Locale.ROOT, "%.4f", d);
        }
        if (v instanceof Float f) {
            return format((double) f);
        }
        return String.valueOf(v);
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }

    /** White to dark blue over [0, 1]. */
    private static final class BlueScale implements PaintScale, java.io.Serializable {
        @Override
        public double getLowerBound() {
            return 0;
        }

        @Override
        public double getUpperBound() {
            return 1;
        }

        @Override
        public Paint getPaint(double v) {
            double t = Math.max(0, Math.min(1, v));
            return new Color((int) (255 - 247 * t), (int) (255 - 207 * t), (int) (255 - 148 * t));
        }
    }
}
