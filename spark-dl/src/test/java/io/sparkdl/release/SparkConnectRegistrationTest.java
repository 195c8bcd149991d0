package io.sparkdl.release;

import io.sparkdl.classification.CnnClassifier;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Transformer;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * META-INF/services/org.apache.spark.ml.Estimator and ...Transformer list every estimator and every transformer
 * that is not a fitted model. Spark Connect's server (4.2, {@code MLUtils.loadOperators}) reads them with
 * {@code ServiceLoader.stream()} and {@code Provider.type()}, which requires a public no-arg constructor without
 * calling it, and then builds a stage with its {@code (String uid)} constructor: both are checked here.
 */
class SparkConnectRegistrationTest {

    @Test
    void everyEstimatorIsRegisteredAndLoadable() throws Exception {
        assertEquals(stages(c -> Estimator.class.isAssignableFrom(c)), registered(Estimator.class));
    }

    @Test
    void everyTransformerButTheFittedModelsIsRegisteredAndLoadable() throws Exception {
        assertEquals(stages(c -> Transformer.class.isAssignableFrom(c) && !Model.class.isAssignableFrom(c)),
                registered(Transformer.class));
    }

    /** The library's classes registered for {@code type}, found as Spark Connect finds them. */
    private static Set<String> registered(Class<?> type) throws Exception {
        Set<String> names = new TreeSet<>();
        for (Class<?> c : ServiceLoader.load(type).stream().map(ServiceLoader.Provider::type).toList()) {
            if (c.getName().startsWith("io.sparkdl.")) {
                c.getConstructor(String.class);   // Connect's MLUtils.getInstance builds stages with it
                names.add(c.getName());
            }
        }
        return names;
    }

    /** The public concrete classes of the library (target/classes) that match. */
    private static Set<String> stages(java.util.function.Predicate<Class<?>> kind) throws Exception {
        Path classes = Path.of(CnnClassifier.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> names = new TreeSet<>();
        try (Stream<Path> s = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) s.filter(f -> f.toString().endsWith(".class"))::iterator) {
                String rel = classes.relativize(p).toString();
                if (rel.contains("$")) {
                    continue;
                }
                String name = rel.substring(0, rel.length() - ".class".length()).replace('/', '.');
                Class<?> c = Class.forName(name, false, SparkConnectRegistrationTest.class.getClassLoader());
                if (Modifier.isPublic(c.getModifiers()) && !Modifier.isAbstract(c.getModifiers()) && kind.test(c)) {
                    names.add(name);
                }
            }
        }
        return names;
    }
}
