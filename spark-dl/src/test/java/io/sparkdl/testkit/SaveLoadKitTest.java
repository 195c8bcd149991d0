package io.sparkdl.testkit;

import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamPair;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Saves and loads every registered stage as a stage, a fitted stage, a Pipeline and a PipelineModel,
 * and requires equal params and equal outputs. Fails when a spark-dl stage has no fuzzer.
 */
class SaveLoadKitTest {
    @TempDir
    Path tmp;

    @Test
    void everyStageIsRegistered() {
        Set<Class<?>> covered = new HashSet<>();
        Fuzzers.all().forEach(f -> covered.addAll(f.covers()));
        List<String> missing = new ArrayList<>();
        for (Class<?> c : StageScan.stages()) {
            if (!covered.contains(c)) {
                missing.add(c.getName());
            }
        }
        assertTrue(missing.isEmpty(), "stages without a fuzzer in testkit.Fuzzers: " + missing);
        assertFalse(covered.isEmpty());
    }

    @TestFactory
    Stream<DynamicTest> roundTrips() {
        return Fuzzers.all().stream().map(f -> DynamicTest.dynamicTest(f.stage().getClass().getSimpleName(),
                () -> roundTrip(f)));
    }

    private void roundTrip(StageFuzzer f) throws Exception {
        SparkSession spark = SparkTest.spark();
        Dataset<Row> data = f.data(spark).cache();
        PipelineStage stage = f.stage();
        String dir = tmp.resolve(stage.uid()).toString();

        // 1. the stage itself, through its static load()
        ((MLWritable) stage).write().overwrite().save(dir + "/stage");
        PipelineStage loaded = staticLoad(stage.getClass(), dir + "/stage");
        assertSameParams(stage, loaded);

        // 2. the fitted stage (or the transformer) and its outputs
        Transformer fitted = stage instanceof Estimator<?> e ? (Transformer) e.fit(data) : (Transformer) stage;
        ((MLWritable) fitted).write().overwrite().save(dir + "/fitted");
        Transformer fittedBack = (Transformer) staticLoad(fitted.getClass(), dir + "/fitted");
        assertSameParams(fitted, fittedBack);
        assertEquals(fitted.uid(), fittedBack.uid());
        if (fitted instanceof Model<?> m && stage instanceof Estimator<?>) {
            assertEquals(stage.uid(), m.uid(), "a model keeps its estimator's uid");
        }
        assertSameOutput(f, fitted.transform(data), fittedBack.transform(data));
        assertSameOutput(f, fitted.transform(data), loaded instanceof Estimator<?> le
                ? ((Transformer) le.fit(data)).transform(data) : ((Transformer) loaded).transform(data));

        // 3. Pipeline and PipelineModel through Spark's own readers
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[]{stage});
        pipeline.write().overwrite().save(dir + "/pipeline");
        Pipeline pipelineBack = Pipeline.load(dir + "/pipeline");
        assertSameParams(stage, pipelineBack.getStages()[0]);
        PipelineModel pm = pipeline.fit(data);
        pm.write().overwrite().save(dir + "/pipelineModel");
        PipelineModel pmBack = PipelineModel.load(dir + "/pipelineModel");
        assertEquals(fitted.getClass(), pmBack.stages()[0].getClass());
        assertSameOutput(f, pm.transform(data), pmBack.transform(data));
        data.unpersist();
    }

    private static PipelineStage staticLoad(Class<?> c, String path) throws Exception {
        Method load = c.getMethod("load", String.class);
        assertTrue(Modifier.isStatic(load.getModifiers()), c + " needs a static load(String)");
        Method read = c.getMethod("read");
        assertTrue(Modifier.isStatic(read.getModifiers()), c + " needs a static read()");
        Object o = load.invoke(null, path);
        assertEquals(c, o.getClass());
        return (PipelineStage) o;
    }

    static void assertSameParams(Params a, Params b) {
        assertEquals(a.uid(), b.uid());
        assertEquals(a.getClass(), b.getClass());
        for (ParamPair<?> p : a.extractParamMap().toList()) {
            Object va = p.value();
            Object vb = b.getOrDefault(b.getParam(p.param().name()));
            if (va instanceof Params nested) {
                // a nested stage (an ensemble's base estimator): the same stage, param by param
                assertSameParams(nested, (Params) vb);
            } else if (va instanceof Params[] stages) {
                assertEquals(stages.length, ((Params[]) vb).length, p.param().name());
                for (int i = 0; i < stages.length; i++) {
                    assertSameParams(stages[i], ((Params[]) vb)[i]);
                }
            } else if (va instanceof Object[] arr) {
                assertArrayEquals(arr, (Object[]) vb, p.param().name());
            } else if (va instanceof double[] arr) {
                assertArrayEquals(arr, (double[]) vb, p.param().name());
            } else if (va instanceof int[] arr) {
                assertArrayEquals(arr, (int[]) vb, p.param().name());
            } else {
                assertEquals(va, vb, "param " + p.param().name() + " of " + a.getClass().getSimpleName());
            }
        }
        assertEquals(a.extractParamMap().size(), b.extractParamMap().size());
    }

    static void assertSameOutput(StageFuzzer f, Dataset<Row> x, Dataset<Row> y) {
        List<String> cols = new ArrayList<>();
        cols.add(f.keyColumn());
        cols.addAll(f.outputColumns());
        List<Row> a = x.select(cols.get(0), cols.subList(1, cols.size()).toArray(String[]::new))
                .orderBy(f.keyColumn()).collectAsList();
        List<Row> b = y.select(cols.get(0), cols.subList(1, cols.size()).toArray(String[]::new))
                .orderBy(f.keyColumn()).collectAsList();
        assertEquals(a.size(), b.size());
        assertFalse(a.isEmpty(), "fuzzer data produced no rows");
        int nonNull = 0;
        for (int i = 0; i < a.size(); i++) {
            for (int c = 0; c < cols.size(); c++) {
                Object va = a.get(i).get(c);
                Object vb = b.get(i).get(c);
                if (va != null) {
                    nonNull++;
                }
                String where = cols.get(c) + " of row " + a.get(i).get(0);
                if (va instanceof Vector v) {
                    assertNotNull(vb, where);
                    assertArrayEquals(v.toArray(), ((Vector) vb).toArray(), 1e-6, where);
                } else if (va instanceof Row r) {
                    assertEquals(r.size(), ((Row) vb).size(), where);
                    for (int k = 0; k < r.size(); k++) {
                        Object ra = r.get(k);
                        Object rb = ((Row) vb).get(k);
                        if (ra instanceof byte[] ba) {
                            assertArrayEquals(ba, (byte[]) rb, where);
                        } else {
                            assertEquals(ra, rb, where);
                        }
                    }
                } else {
                    assertEquals(va, vb, where);
                }
            }
        }
        assertTrue(nonNull > a.size(), "outputs are all null: nothing was compared");
        assertTrue(Arrays.asList(x.columns()).containsAll(f.outputColumns()));
    }
}
