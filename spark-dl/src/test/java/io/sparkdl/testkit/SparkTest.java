package io.sparkdl.testkit;

import org.apache.spark.sql.SparkSession;

import java.io.File;
import java.nio.file.Path;
import java.nio.file.Paths;

/** One local[2] SparkSession per test JVM, and the location of test-data/. */
public final class SparkTest {
    private static SparkSession spark;

    private SparkTest() {
    }

    public static synchronized SparkSession spark() {
        if (spark == null || spark.sparkContext().isStopped()) {
            spark = SparkSession.builder().master("local[2]").appName("spark-dl-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    // as conf/spark-defaults.conf: every test runs on Kryo with spark-dl's registrator
                    .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                    .config("spark.kryo.registrator", "io.sparkdl.io.Nd4jKryoRegistrator")
                    .config("spark.plugins", "io.sparkdl.backend.Nd4jPlugin")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
        }
        return spark;
    }

    /** test-data/fashion-mnist-small: 10 classes x 100 PNGs. */
    public static String fashionSmall() {
        return testData().resolve("fashion-mnist-small").toString();
    }

    public static Path testData() {
        for (String c : new String[]{"test-data", "../test-data"}) {
            File f = new File(c);
            if (f.isDirectory()) {
                return Paths.get(c).toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("test-data/ not found from " + new File(".").getAbsolutePath());
    }
}
