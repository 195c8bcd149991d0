package io.sparkdl.param;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Function1;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * Factories for params that several stages share (same name, doc and validation everywhere), and the
 * schema checks their {@code transformSchema} methods use. Errors name the column and the types.
 */
public final class SharedParams {
    private SharedParams() {
    }

    /** Fails unless an optional column-name param that this stage needs is set to a name. */
    public static String requireName(String value, String param, Params stage) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(stage.getClass().getSimpleName() + " " + stage.uid() + ": set " + param
                    + " (it is empty)");
        }
        return value;
    }

    /** A column-name param: any non-empty string. */
    public static Param<String> column(Params parent, String name, String doc) {
        return new Param<>(parent, name, doc, validator(v -> v != null && !v.isEmpty()));
    }

    /** A string param restricted to {@code allowed}. */
    public static Param<String> choice(Params parent, String name, String doc, String... allowed) {
        List<String> ok = List.of(allowed);
        return new Param<>(parent, name, doc + " Supported: " + String.join(", ", allowed) + ".",
                validator(ok::contains));
    }

    /** A serializable Scala predicate from a Java one (stages and their params travel in closures). */
    public static <T> Function1<T, Object> validator(SerializablePredicate<T> p) {
        return (Function1<T, Object> & Serializable) p::test;
    }

    @FunctionalInterface
    public interface SerializablePredicate<T> extends Serializable {
        boolean test(T t);
    }

    public static StructField requireColumn(StructType schema, String name, String role) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(role + " column '" + name + "' does not exist. Available columns: "
                    + String.join(", ", schema.fieldNames()));
        }
        return schema.apply(name);
    }

    /** Adds nullable output columns, failing when one already exists. */
    public static StructType addOutputs(StructType schema, String[] names, DataType[] types) {
        StructType out = schema;
        for (int i = 0; i < names.length; i++) {
            requireAbsent(out, names[i], "Output");
            out = out.add(names[i], types[i], true);
        }
        return out;
    }

    public static void requireAbsent(StructType schema, String name, String role) {
        if (Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(role + " column '" + name + "' already exists; choose another name");
        }
    }
}
