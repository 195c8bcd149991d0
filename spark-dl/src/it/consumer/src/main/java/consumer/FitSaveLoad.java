package consumer;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageSources;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

/** Fits a CnnClassifier on an embedded local Spark, saves it, loads it and compares the predictions. */
public final class FitSaveLoad {
    public static void main(String[] args) throws Exception {
        String data = args[0];
        String modelDir = args[1];
        SparkSession spark = SparkSession.builder().master("local[2]").appName("spark-dl consumer")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            Dataset<Row> images = new ImageDecoder().setSize(28, 28).setChannels(1)
                    .transform(ImageSources.readFolder(spark, data)).cache();
            CnnClassifierModel model = new CnnClassifier().setArch("lenet").setEpochs(1).setBatchSize(32)
                    .setSeed(1).setValidationFraction(0).fit(images);
            model.write().overwrite().save(modelDir);
            CnnClassifierModel loaded = CnnClassifierModel.load(modelDir);
            List<Row> before = model.transform(images).orderBy("path").select("prediction").collectAsList();
            List<Row> after = loaded.transform(images).orderBy("path").select("prediction").collectAsList();
            System.out.println("consumer: spark " + spark.version() + ", jackson-core "
                    + com.fasterxml.jackson.core.json.PackageVersion.VERSION + ", backend " + Nd4jBackend.init());
            System.out.println("consumer: " + before.size() + " images, predictions equal after load: "
                    + before.equals(after));
            if (before.isEmpty() || !before.equals(after)) {
                System.exit(1);
            }
        } finally {
            spark.stop();
        }
    }
}
