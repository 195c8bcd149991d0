package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Stage params as command-line options and pipeline-definition fields: the one mapping between the two and
 * the library's {@link Params}. An option is the param's name in kebab-case ({@code learningRate} ->
 * {@code --learning-rate}), its description the param's doc and the stage's default; a definition field is the
 * param's name as it is. A value is parsed by the param's type and set with {@link Params#set(Param, Object)},
 * so the stage's own validator decides what is valid; a rejected value is a usage error that names the
 * option (or the file and field) and quotes the param's doc. There are no defaults here: what is not given
 * keeps the stage's default.
 */
final class ParamOptions {
    /** One exposed param: the stage that owns it, and the value the command line gave (null: none). */
    private static final class Bound {
        final Params stage;
        final Param<?> param;
        final String option;
        final UnaryOperator<String> convert;
        String given;
        /** The name the command line gave it under (the option or one of its old names). */
        String givenAs;

        Bound(Params stage, Param<?> param, String option, UnaryOperator<String> convert) {
            this.stage = stage;
            this.param = param;
            this.option = option;
            this.convert = convert;
        }
    }

    private final Map<String, Bound> byOption = new LinkedHashMap<>();

    /** {@code learningRate} -> {@code learning-rate}. */
    static String kebab(String paramName) {
        return paramName.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** Options for the named params of {@code stage}, each {@code --kebab-name}. */
    ParamOptions add(CommandSpec spec, Params stage, String... params) {
        for (String p : params) {
            add(spec, stage, p, new String[0]);
        }
        return this;
    }

    /**
     * An option for one param of {@code stage}: {@code --kebab-name} followed by {@code aliases} (older names
     * that keep working). With {@code name} given, that is the option's name instead of the kebab form (for
     * a param whose name alone would be ambiguous on a command, such as ImagePCA's {@code k} as {@code --pca}).
     */
    ParamOptions add(CommandSpec spec, Params stage, String param, String[] aliases) {
        return add(spec, stage, param, null, aliases);
    }

    ParamOptions add(CommandSpec spec, Params stage, String param, String name, String[] aliases) {
        return add(spec, stage, param, name, aliases, UnaryOperator.identity(), null);
    }

    /**
     * An option under its own name whose absence means something other than the stage's default (no ensemble,
     * no PCA): {@code whenAbsent} says what, in place of the default in the help.
     */
    ParamOptions addAs(CommandSpec spec, Params stage, String param, String name, String whenAbsent) {
        return add(spec, stage, param, name, new String[0], UnaryOperator.identity(), whenAbsent);
    }

    /** As above, with the given text turned into the param's value by {@code convert} (a file's content). */
    ParamOptions add(CommandSpec spec, Params stage, String param, String name, String[] aliases,
                     UnaryOperator<String> convert, String whenAbsent) {
        if (!stage.hasParam(param)) {
            throw new IllegalStateException(stage.getClass().getSimpleName() + " has no param " + param);
        }
        Param<?> p = stage.getParam(param);
        String option = "--" + (name != null ? name : kebab(param));
        Bound b = new Bound(stage, p, option, convert);
        boolean flag = p instanceof BooleanParam;
        String old = aliases.length == 0 ? "" : " Old name" + (aliases.length > 1 ? "s" : "") + ", still accepted: "
                + String.join(", ", aliases) + ".";
        List<String> names = new ArrayList<>(List.of(option));
        spec.addOption(option(option, p, flag, setter(spec, b, option)).hidden(false)
                .description(escape(p.doc() + (whenAbsent != null ? " (not given: " + whenAbsent + ")"
                        : defaultText(stage, p)) + old)).build());
        for (String a : aliases) {
            // the old names work but stay out of the help, which lists each param once
            spec.addOption(option(a, p, flag, setter(spec, b, a)).hidden(true).build());
            names.add(a);
        }
        for (String n : names) {
            byOption.put(n, b);
        }
        return this;
    }

    /**
     * What picocli calls with the value of {@code b}'s option given as {@code name}. A param given a second time
     * under another of its names (the option and an old name, or two old names) is a usage error naming both,
     * whatever the values, as picocli refuses a single-value option given twice under the same name: otherwise
     * the last one would win unnoticed.
     */
    private static ISetter setter(CommandSpec spec, Bound b, String name) {
        return new ISetter() {
            @Override
            public <T> T set(T value) {
                if (value == null) {
                    b.given = null;
                    b.givenAs = null;
                    return null;
                }
                // a flag given without a value: picocli passes the fallback "true"
                String v = value.toString();
                if (b.given != null) {
                    throw new ParameterException(spec.commandLine(), shown(b, b.givenAs, b.given) + " and "
                            + shown(b, name, v) + " both set " + b.param.name() + ": give one");
                }
                b.given = v;
                b.givenAs = name;
                return null;
            }
        };
    }

    /** {@code --workers 2 (old name of --num-workers)}. */
    private static String shown(Bound b, String name, String value) {
        return name + " " + show(value) + (name.equals(b.option) ? "" : " (old name of " + b.option + ")");
    }

    private static OptionSpec.Builder option(String name, Param<?> p, boolean flag, ISetter setter) {
        OptionSpec.Builder o = OptionSpec.builder(name).type(String.class).paramLabel(label(p))
                .arity(flag ? "0..1" : "1").hasInitialValue(false).setter(setter);
        if (flag) {
            o.fallbackValue("true");
        }
        return o;
    }

    /** Sets every param given on the command line on its stage; throws a usage error naming the option. */
    void apply() {
        for (Bound b : new java.util.LinkedHashSet<>(byOption.values())) {
            if (b.given != null) {
                set(b.stage, b.param, parse(b.param, b.convert.apply(b.given), b.option), b.option);
            }
        }
    }

    /** Whether the command line gave the option (by any of its names). */
    boolean given(String option) {
        Bound b = byOption.get(option);
        return b != null && b.given != null;
    }

    /** The param named {@code name} of {@code stage} if this command exposes it, else null. */
    Param<?> exposed(Params stage, String name) {
        for (Bound b : byOption.values()) {
            if (b.stage == stage && b.param.name().equals(name)) {
                return b.param;
            }
        }
        return null;
    }

    /** The names of the params of {@code stage} this command exposes, in the order they were added. */
    List<String> exposedNames(Params stage) {
        return new java.util.LinkedHashSet<>(byOption.values()).stream().filter(b -> b.stage == stage)
                .map(b -> b.param.name()).toList();
    }

    /** The text the command line gave for the option, or null. */
    String givenText(String option) {
        Bound b = byOption.get(option);
        return b == null ? null : b.given;
    }

    /** The params that the command line gave, by the stage that owns them. */
    List<Param<?>> givenParams(Params stage) {
        List<Param<?>> out = new ArrayList<>();
        for (Bound b : new java.util.LinkedHashSet<>(byOption.values())) {
            if (b.stage == stage && b.given != null) {
                out.add(b.param);
            }
        }
        return out;
    }

    /**
     * Sets the param named {@code field} of {@code stage} from a pipeline-definition value (the JSON type must
     * fit the param's: a number for a numeric param, a string for a string one, true/false for a boolean, a
     * list for an array param). {@code where} names the file and field in errors.
     */
    static void setFromJson(Params stage, String field, JsonNode v, String where) {
        if (!stage.hasParam(field)) {
            throw new UsageException(where + " is not a param of " + stage.getClass().getSimpleName());
        }
        Param<?> p = stage.getParam(field);
        Object value;
        if (p instanceof IntParam) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new UsageException(where + " must be an integer but was " + v);
            }
            value = v.intValue();
        } else if (p instanceof LongParam) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new UsageException(where + " must be a whole number between " + Long.MIN_VALUE
                        + " and " + Long.MAX_VALUE + " but was " + v);
            }
            value = v.longValue();
        } else if (p instanceof DoubleParam) {
            if (!v.isNumber()) {
                throw new UsageException(where + " must be a number but was " + v);
            }
            value = v.doubleValue();
        } else if (p instanceof BooleanParam) {
            if (!v.isBoolean()) {
                throw new UsageException(where + " must be true or false but was " + v);
            }
            value = v.booleanValue();
        } else if (p instanceof StringArrayParam || p instanceof IntArrayParam) {
            if (!v.isArray() && !v.isTextual()) {
                throw new UsageException(where + " must be a list but was " + v);
            }
            List<String> items = new ArrayList<>();
            if (v.isArray()) {
                v.forEach(e -> items.add(e.asText()));
            } else {
                items.addAll(Arrays.asList(v.asText().split(",")));
            }
            value = parse(p, String.join(",", items), where);
        } else {
            if (!v.isTextual()) {
                throw new UsageException(where + " must be a string but was " + v);
            }
            value = v.asText();
        }
        set(stage, p, value, where);
    }

    /** A command-line value as the param's type. */
    static Object parse(Param<?> p, String s, String option) {
        String t = s.trim();
        try {
            if (p instanceof IntParam) {
                return Integer.parseInt(t);
            }
            if (p instanceof LongParam) {
                return Long.parseLong(t);
            }
            if (p instanceof DoubleParam) {
                return Double.parseDouble(t);
            }
        } catch (NumberFormatException e) {
            String what = p instanceof IntParam ? "an integer"
                    : p instanceof LongParam ? "a whole number between " + Long.MIN_VALUE + " and " + Long.MAX_VALUE
                    : "a number";
            throw new UsageException(option + " must be " + what + " but was '" + s + "'");
        }
        if (p instanceof BooleanParam) {
            if (!t.equalsIgnoreCase("true") && !t.equalsIgnoreCase("false")) {
                throw new UsageException(option + " must be true or false but was '" + s + "'");
            }
            return Boolean.parseBoolean(t.toLowerCase(Locale.ROOT));
        }
        if (p instanceof StringArrayParam) {
            return Arrays.stream(t.split(",")).map(String::trim).toArray(String[]::new);
        }
        if (p instanceof IntArrayParam) {
            try {
                return Arrays.stream(t.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
            } catch (NumberFormatException e) {
                throw new UsageException(option + " must be a comma-separated list of integers but was '"
                        + s + "'");
            }
        }
        return s;
    }

    /** {@code stage.set(p, value)}: the stage's validator decides; a rejection names {@code where}. */
    @SuppressWarnings("unchecked")
    static void set(Params stage, Param<?> p, Object value, String where) {
        try {
            stage.set((Param<Object>) p, value);
        } catch (IllegalArgumentException e) {
            throw new UsageException(where + " " + show(value) + " is not valid: " + p.doc());
        }
    }

    private static String label(Param<?> p) {
        if (p instanceof IntParam || p instanceof LongParam) {
            return "N";
        }
        if (p instanceof DoubleParam) {
            return "X";
        }
        if (p instanceof BooleanParam) {
            return "true|false";
        }
        if (p instanceof StringArrayParam || p instanceof IntArrayParam) {
            return "A,B,...";
        }
        return "VALUE";
    }

    private static String defaultText(Params stage, Param<?> p) {
        scala.Option<?> d = stage.getDefault(p);
        if (!d.isDefined()) {
            return " (no default)";
        }
        String v = show(d.get());
        return v.isEmpty() ? " (default: empty)" : " (default: " + v + ")";
    }

    private static String show(Object v) {
        if (v instanceof String[] a) {
            return String.join(",", a);
        }
        if (v instanceof int[] a) {
            return Arrays.stream(a).mapToObj(Integer::toString).collect(Collectors.joining(","));
        }
        String t = String.valueOf(v).replaceAll("\\s+", " ");
        return t.length() > 80 ? t.substring(0, 77) + "..." : t;
    }

    /** picocli formats descriptions (%n, %s): a param's doc is shown as it is. */
    private static String escape(String s) {
        return s.replace("%", "%%");
    }
}
