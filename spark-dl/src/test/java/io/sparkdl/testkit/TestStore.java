package io.sparkdl.testkit;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;

/**
 * A real store the tests start themselves on 127.0.0.1 and stop afterwards, as a JUnit 5 extension
 * ({@code @RegisterExtension static final HdfsStore STORE = new HdfsStore();}). On start it registers its
 * settings in the shared SparkSession's Hadoop configuration, so Spark and spark-dl reach it by URI.
 */
public abstract class TestStore implements BeforeAllCallback, AfterAllCallback {
    /** Starts the store and returns the settings clients need (applied to Spark's Hadoop configuration). */
    protected abstract Map<String, String> start() throws Exception;

    protected abstract void stop() throws Exception;

    /** The store's root URI, without a trailing slash: {@code hdfs://127.0.0.1:PORT} or {@code s3a://BUCKET}. */
    public abstract String root();

    public String uri(String relative) {
        return root() + "/" + relative;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Configuration hc = SparkTest.spark().sparkContext().hadoopConfiguration();
        start().forEach(hc::set);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        // drop the cached client: a later store may reuse the URI with another port
        FileSystem.get(new java.net.URI(root() + "/"), SparkTest.spark().sparkContext().hadoopConfiguration()).close();
        stop();
    }

    /**
     * Copies the first {@code perClass} files of the first {@code classes} class folders (sorted by name) of a
     * local image tree to {@code relative}, and returns its URI.
     */
    public String uploadImages(java.nio.file.Path localRoot, String relative, int classes, int perClass) {
        Configuration hc = SparkTest.spark().sparkContext().hadoopConfiguration();
        String target = uri(relative);
        try {
            FileSystem fs = new Path(target).getFileSystem(hc);
            File[] dirs = localRoot.toFile().listFiles(File::isDirectory);
            Arrays.sort(dirs);
            for (File c : Arrays.copyOf(dirs, Math.min(classes, dirs.length))) {
                File[] files = c.listFiles(File::isFile);
                Arrays.sort(files);
                for (File f : Arrays.copyOf(files, Math.min(perClass, files.length))) {
                    fs.copyFromLocalFile(new Path(f.toURI()), new Path(target + "/" + c.getName() + "/" + f.getName()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot upload " + localRoot + " to " + target, e);
        }
        return target;
    }
}
