package io.sparkdl.pipelines;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options and {@code --flag} switches, checked against what a command accepts. */
final class CliArgs {
    private final Map<String, String> values = new LinkedHashMap<>();

    /** Thrown for bad command lines; the message is printed as the one error line. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    CliArgs(String[] args, int from, Set<String> options, Set<String> flags) {
        Map<String, String> seen = new HashMap<>();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                values.put(name, "true");
            } else if (options.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                        throw new UsageException("option --" + name + " needs a value");
                    }
                    v = args[++i];
                }
                values.put(name, v);
            } else {
                throw new UsageException("unknown option --" + name);
            }
            if (seen.put(name, name) != null) {
                throw new UsageException("option --" + name + " given twice");
            }
        }
    }

    String get(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("missing required option --" + name);
        }
        return v;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    int getInt(String name, int dflt, int min) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            int i = Integer.parseInt(v.trim());
            if (i < min) {
                throw new UsageException("--" + name + " must be >= " + min + " but was " + v);
            }
            return i;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer but was '" + v + "'");
        }
    }

    long getLong(String name, long dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a whole number between " + Long.MIN_VALUE + " and "
                    + Long.MAX_VALUE + " but was '" + v + "'");
        }
    }

    double getDouble(String name, double dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number but was '" + v + "'");
        }
    }
}
