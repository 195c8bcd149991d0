package io.sparkdl.testkit;

import org.apache.spark.ml.PipelineStage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** The public, concrete Spark ML stages in spark-dl's compiled classes (io.sparkdl), found by a classpath scan. */
public final class StageScan {
    private StageScan() {
    }

    public static Set<Class<?>> stages() {
        Set<Class<?>> found = new TreeSet<>((a, b) -> a.getName().compareTo(b.getName()));
        Path classes = Paths.get("target/classes");
        try (Stream<Path> files = Files.walk(classes.resolve("io/sparkdl"))) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                String name = classes.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", "");
                Class<?> c;
                try {
                    c = Class.forName(name, false, StageScan.class.getClassLoader());
                } catch (ClassNotFoundException | LinkageError e) {
                    continue;
                }
                if (PipelineStage.class.isAssignableFrom(c) && !Modifier.isAbstract(c.getModifiers())
                        && Modifier.isPublic(c.getModifiers())) {
                    found.add(c);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (found.isEmpty()) {
            throw new IllegalStateException("no stage found under " + classes.toAbsolutePath());
        }
        return found;
    }
}
