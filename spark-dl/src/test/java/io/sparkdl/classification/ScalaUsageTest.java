package io.sparkdl.classification;

import io.sparkdl.testkit.SparkTest;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compiles a Scala program that uses the stages (Pipeline, setters, static load) with scalac 2.12 and
 * runs it: proof that Scala users need no shims.
 */
class ScalaUsageTest {
    @TempDir
    Path tmp;

    @Test
    void scalaProgramCompilesAndTrains() throws Exception {
        Path src = Paths.get("src/test/resources/scala/ScalaPipeline.scala");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        boolean ok = scala.tools.nsc.Main.process(new String[]{"-classpath", cp, "-d", classes.toString(),
                "-nowarn", src.toString()});
        assertTrue(ok, "scalac failed on " + src);
        try (URLClassLoader cl = new URLClassLoader(new URL[]{classes.toUri().toURL()}, getClass().getClassLoader())) {
            Class<?> c = cl.loadClass("ScalaPipeline");
            SparkSession spark = SparkTest.spark();
            double acc = (Double) c.getMethod("run", SparkSession.class, String.class, String.class)
                    .invoke(null, spark, SparkTest.fashionSmall(), tmp.resolve("out").toString());
            assertTrue(acc > 0.8, "bags vs trousers accuracy from Scala " + acc);
        }
        assertTrue(new File(tmp.resolve("out/cnn/metadata").toString()).isDirectory());
    }
}
