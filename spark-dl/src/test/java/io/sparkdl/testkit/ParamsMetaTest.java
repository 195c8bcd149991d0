package io.sparkdl.testkit;

import io.sparkdl.classification.CnnClassifier;
import io.sparkdl.classification.CnnClassifierModel;
import io.sparkdl.clustering.ImageKMeans;
import io.sparkdl.clustering.ImageKMeansModel;
import io.sparkdl.clustering.ImagePCA;
import io.sparkdl.clustering.ImagePCAModel;
import io.sparkdl.ensemble.EnsembleClassifier;
import io.sparkdl.ensemble.EnsembleClassifierModel;
import io.sparkdl.ensemble.ProbabilityAverager;
import io.sparkdl.features.CnnFeaturizer;
import io.sparkdl.image.ImageAugmenter;
import io.sparkdl.image.ImageDecoder;
import io.sparkdl.image.ImageNormalizer;
import io.sparkdl.image.ImageNormalizerModel;
import io.sparkdl.image.Normalization;
import io.sparkdl.param.HasChannels;
import io.sparkdl.param.HasCombination;
import io.sparkdl.param.HasEngine;
import io.sparkdl.param.HasFeaturesCol;
import io.sparkdl.param.HasHeight;
import io.sparkdl.param.HasInferenceBatchSize;
import io.sparkdl.param.HasInputCol;
import io.sparkdl.param.HasLabelCol;
import io.sparkdl.param.HasOutputCol;
import io.sparkdl.param.HasPredictedLabelCol;
import io.sparkdl.param.HasPredictionCol;
import io.sparkdl.param.HasProbabilityCol;
import io.sparkdl.param.HasRawPredictionCol;
import io.sparkdl.param.HasSeed;
import io.sparkdl.param.HasValidationFraction;
import io.sparkdl.param.HasWidth;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.PipelineStage;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Meta-tests over every spark-dl stage (SynapseML's FuzzingTest idea): every param has a getter and a setter
 * that returns the stage; a param name means the same thing in every stage (same type, same validation, same
 * default where both have one), and a shared name comes from its shared {@code HasX} interface. The stages are a
 * list kept here, checked against a classpath scan so that a new stage cannot be forgotten.
 */
class ParamsMetaTest {
    /** Every stage, built without data (models through their constructors: only their params matter here). */
    private static final Map<Class<?>, Supplier<Params>> STAGES = new LinkedHashMap<>();

    static {
        STAGES.put(ImageDecoder.class, ImageDecoder::new);
        STAGES.put(ImageNormalizer.class, ImageNormalizer::new);
        STAGES.put(ImageNormalizerModel.class, () -> new ImageNormalizerModel("norm",
                new Normalization(new double[]{0.5}, new double[]{0.2})));
        STAGES.put(ImageAugmenter.class, ImageAugmenter::new);
        STAGES.put(CnnClassifier.class, CnnClassifier::new);
        // with its arch, as a fitted model has it (without one, engine defaults to nd4j: torch builds from the arch)
        STAGES.put(CnnClassifierModel.class, () -> new CnnClassifierModel("cnn", new String[]{"a", "b"}, null,
                new int[]{28, 28, 1}, null, null, "lenet"));
        STAGES.put(CnnFeaturizer.class, CnnFeaturizer::new);
        STAGES.put(ImagePCA.class, ImagePCA::new);
        STAGES.put(ImagePCAModel.class, () -> construct(ImagePCAModel.class, "pca", new double[1], new double[1][1],
                new double[1], new double[1], 1L));
        STAGES.put(ImageKMeans.class, ImageKMeans::new);
        STAGES.put(ImageKMeansModel.class, () -> construct(ImageKMeansModel.class, "km", new double[2][1], 0.0,
                new long[2], 1));
        STAGES.put(EnsembleClassifier.class, EnsembleClassifier::new);
        STAGES.put(EnsembleClassifierModel.class, () -> construct(EnsembleClassifierModel.class, "ens",
                new CnnClassifierModel[0], new double[0], new double[0]));
        STAGES.put(ProbabilityAverager.class, ProbabilityAverager::new);
    }

    /** Shared interfaces and the param each provides. */
    private static final List<Class<?>> SHARED = List.of(HasInputCol.class, HasOutputCol.class, HasFeaturesCol.class,
            HasLabelCol.class, HasPredictionCol.class, HasProbabilityCol.class, HasRawPredictionCol.class,
            HasPredictedLabelCol.class, HasSeed.class, HasChannels.class, HasHeight.class, HasWidth.class,
            HasInferenceBatchSize.class, HasValidationFraction.class, HasCombination.class, HasEngine.class);

    /** Params fixed by fitting: the model reports them but has no setter (as MLlib's PCAModel has no setK). */
    private static final Set<String> FIXED_BY_FIT = Set.of("ImagePCAModel.centering");

    /**
     * Names two stages use for different things, on purpose: {@code k} is the number of clusters in ImageKMeans
     * (>= 2) and of components in ImagePCA (>= 1), as in MLlib.
     */
    private static final Set<String> SAME_NAME_DIFFERENT_MEANING = Set.of("k");

    private static Params construct(Class<?> c, Object... args) {
        for (Constructor<?> k : c.getDeclaredConstructors()) {
            if (k.getParameterCount() == args.length) {
                try {
                    k.setAccessible(true);
                    return (Params) k.newInstance(args);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(c.getName(), e);
                }
            }
        }
        throw new IllegalStateException(c.getName() + " has no constructor with " + args.length + " arguments");
    }

    @Test
    void theListHoldsEveryStageOnTheClasspath() {
        Set<String> scanned = new HashSet<>();
        StageScan.stages().forEach(c -> scanned.add(c.getName()));
        Set<String> listed = new HashSet<>();
        STAGES.keySet().forEach(c -> listed.add(c.getName()));
        assertEquals(scanned, listed, "ParamsMetaTest.STAGES must list every public stage in io.sparkdl");
    }

    @Test
    void everyParamHasAGetterAndASetterReturningTheStage() throws Exception {
        List<String> problems = new ArrayList<>();
        for (Supplier<Params> make : STAGES.values()) {
            Params stage = make.get();
            String cls = stage.getClass().getSimpleName();
            Set<String> names = new HashSet<>();
            for (Param<?> p : stage.params()) {
                String where = cls + "." + p.name();
                if (!names.add(p.name())) {
                    problems.add(where + " is listed twice");
                }
                assertEquals(stage.uid(), p.parent(), where + " belongs to another stage");
                String cap = Character.toUpperCase(p.name().charAt(0)) + p.name().substring(1);
                Method getter = method(stage, "get" + cap, 0);
                if (getter == null) {
                    problems.add(where + " has no getter get" + cap + "()");
                } else if (stage.isDefined(p)) {
                    Object got = getter.invoke(stage);
                    Object want = stage.getOrDefault(p);
                    if (!(got == want || got.equals(want) || Arrays.deepEquals(new Object[]{got}, new Object[]{want}))) {
                        problems.add(where + ": get" + cap + "() returned " + got + " but the param holds " + want);
                    }
                }
                if (FIXED_BY_FIT.contains(where)) {
                    continue;
                }
                Method setter = method(stage, "set" + cap, 1);
                if (setter == null) {
                    problems.add(where + " has no setter set" + cap + "(value)");
                    continue;
                }
                Object value = stage.isDefined(p) ? stage.getOrDefault(p) : sample(setter.getParameterTypes()[0]);
                Object returned = setter.invoke(stage, value);
                assertSame(stage, returned, where + ": set" + cap + " must return the stage");
                assertTrue(stage.isSet(p), where + ": set" + cap + " did not set the param");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void aNameMeansTheSameThingInEveryStage() {
        Map<String, List<Params>> byName = new TreeMap<>();
        for (Supplier<Params> make : STAGES.values()) {
            Params stage = make.get();
            for (Param<?> p : stage.params()) {
                byName.computeIfAbsent(p.name(), n -> new ArrayList<>()).add(stage);
            }
        }
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (Map.Entry<String, List<Params>> e : byName.entrySet()) {
            String name = e.getKey();
            if (e.getValue().size() < 2 || SAME_NAME_DIFFERENT_MEANING.contains(name)) {
                continue;
            }
            Params first = e.getValue().get(0);
            Param<?> a = first.getParam(name);
            for (Params other : e.getValue().subList(1, e.getValue().size())) {
                Param<?> b = other.getParam(name);
                String pair = name + " in " + first.getClass().getSimpleName() + " and "
                        + other.getClass().getSimpleName();
                compared++;
                if (a.getClass() != b.getClass()) {
                    problems.add(pair + ": types " + a.getClass().getSimpleName() + " and " + b.getClass().getSimpleName());
                    continue;
                }
                if (!validity(a).equals(validity(b))) {
                    problems.add(pair + ": validation differs (" + validity(a) + " vs " + validity(b) + ")");
                }
                // a column's default names the column the stage reads or writes, which depends on the stage (MLlib's
                // HasInputCol has no shared default either); every other shared name has one default
                if (!name.endsWith("Col") && first.hasDefault(a) && other.hasDefault(b)
                        && !Arrays.deepEquals(new Object[]{first.getDefault(a).get()},
                        new Object[]{other.getDefault(b).get()})) {
                    problems.add(pair + ": defaults " + first.getDefault(a).get() + " and " + other.getDefault(b).get());
                }
            }
        }
        assertTrue(compared > 20, "too few shared names compared: " + compared);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void aSharedNameComesFromItsSharedInterface() {
        List<String> problems = new ArrayList<>();
        for (Class<?> shared : SHARED) {
            String n = shared.getSimpleName().substring(3);
            String name = Character.toLowerCase(n.charAt(0)) + n.substring(1);
            int users = 0;
            for (Supplier<Params> make : STAGES.values()) {
                Params stage = make.get();
                if (stage.hasParam(name)) {
                    users++;
                    if (!shared.isInstance(stage)) {
                        problems.add(stage.getClass().getSimpleName() + " declares " + name + " without "
                                + shared.getSimpleName());
                    }
                }
            }
            if (users < 2) {
                problems.add(shared.getSimpleName() + " is used by " + users + " stage(s): a shared interface needs two");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** Which probe values the param accepts: the fingerprint of its validation. */
    private static List<Boolean> validity(Param<?> p) {
        Object[] probes;
        if (p instanceof IntParam) {
            probes = new Object[]{-2, -1, 0, 1, 2, 3, 4, 256, 8192, 8193};
        } else if (p instanceof LongParam) {
            probes = new Object[]{-1L, 0L, 1L, 42L};
        } else if (p instanceof DoubleParam) {
            probes = new Object[]{-1.0, 0.0, 1e-3, 0.5, 0.999, 1.0, 2.0, 1e5};
        } else if (p instanceof BooleanParam) {
            probes = new Object[]{true, false};
        } else {
            probes = new Object[]{"", "x", "image", "mean", "vote", "weighted", "nd4j", "keep", "none"};
        }
        List<Boolean> ok = new ArrayList<>();
        for (Object v : probes) {
            @SuppressWarnings("unchecked")
            Param<Object> q = (Param<Object>) p;
            boolean valid;
            try {
                valid = q.isValid().apply(v).equals(Boolean.TRUE);
            } catch (ClassCastException e) {
                valid = false;
            }
            ok.add(valid);
        }
        return ok;
    }

    private static Method method(Object o, String name, int args) {
        for (Method m : o.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args && !m.isAnnotationPresent(Deprecated.class)) {
                return m;
            }
        }
        return null;
    }

    private static Object sample(Class<?> type) {
        if (type == String.class) {
            return "someColumn";
        }
        if (type == String[].class) {
            return new String[]{"a", "b"};
        }
        if (PipelineStage.class.isAssignableFrom(type)) {
            return new CnnClassifier();
        }
        fail("no sample value for a setter taking " + type);
        return null;
    }
}
