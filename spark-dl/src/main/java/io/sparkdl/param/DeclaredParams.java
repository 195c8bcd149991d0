package io.sparkdl.param;

import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The params a stage declares, by name: the one place their {@code Param} objects live. The shared param
 * interfaces ({@link HasFeaturesCol}, ..., and each stage pair's {@code XParams}) return them from default
 * methods, so an estimator and its model declare a shared param once (in the interface's {@code declare}),
 * not once per class. Spark's {@code Params.params} still finds every one: it lists the public no-arg
 * methods that return a {@code Param}, default interface methods included.
 */
public final class DeclaredParams implements Serializable {
    private final Params owner;
    private final Map<String, Param<?>> byName = new LinkedHashMap<>();

    /** @param owner the stage; its uid must already be set (a Param records its parent's uid) */
    public DeclaredParams(Params owner) {
        if (owner.uid() == null) {
            throw new IllegalStateException(owner.getClass().getName() + ": set the uid before declaring params");
        }
        this.owner = owner;
    }

    /** The stage these params belong to. */
    public Params owner() {
        return owner;
    }

    /** Registers {@code p} (created with this stage as parent) and sets its default, when not null. */
    public <T, P extends Param<T>> P add(P p, T defaultValue) {
        if (byName.putIfAbsent(p.name(), p) != null) {
            throw new IllegalStateException(owner.getClass().getName() + " declares param " + p.name() + " twice");
        }
        if (defaultValue != null) {
            owner.setDefault(p, defaultValue);
        }
        return p;
    }

    /** The declared param {@code name}; the caller knows its type (the declaring interface does). */
    @SuppressWarnings("unchecked")
    public <P extends Param<?>> P get(String name) {
        Param<?> p = byName.get(name);
        if (p == null) {
            throw new IllegalStateException(owner.getClass().getName() + " declares no param " + name);
        }
        return (P) p;
    }

    /** A column-name param: any non-empty string. */
    public Param<String> column(String name, String doc, String defaultValue) {
        return add(SharedParams.column(owner, name, doc), defaultValue);
    }

    /** A string param restricted to {@code allowed}. */
    public Param<String> choice(String name, String doc, String defaultValue, String... allowed) {
        return add(SharedParams.choice(owner, name, doc, allowed), defaultValue);
    }

    public IntParam intParam(String name, String doc, SharedParams.SerializablePredicate<Integer> valid,
                             Integer defaultValue) {
        return add(new IntParam(owner, name, doc, SharedParams.<Object>validator(v -> valid.test((Integer) v))),
                defaultValue);
    }

    public DoubleParam doubleParam(String name, String doc, SharedParams.SerializablePredicate<Double> valid,
                                   Double defaultValue) {
        return add(new DoubleParam(owner, name, doc, SharedParams.<Object>validator(v -> valid.test((Double) v))),
                defaultValue);
    }

    public LongParam longParam(String name, String doc, Long defaultValue) {
        return add(new LongParam(owner, name, doc), defaultValue);
    }
}
