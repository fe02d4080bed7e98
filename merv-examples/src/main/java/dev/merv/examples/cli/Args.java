package dev.merv.examples.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal {@code --name value} / {@code --name=value} parsing for the launcher's
 * own commands (the pretrain command uses the reference-compatible parser in merv-core's config
 * package instead). Unknown options are errors that list the known ones.
 */
public final class Args {

    private final Map<String, String> values = new LinkedHashMap<>();

    private Args() {}

    /** Parses {@code argv}; every option in {@code options} takes one value. */
    public static Args parse(String command, String[] argv, List<String> options) {
        Args a = new Args();
        for (int i = 0; i < argv.length; i++) {
            String s = argv[i];
            if (s.startsWith("--")) {
                String name = s.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (options.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= argv.length) {
                            throw new IllegalArgumentException(command + ": --" + name + " needs a value");
                        }
                        value = argv[++i];
                    }
                    a.values.put(name, value);
                } else {
                    throw new IllegalArgumentException(command + ": unknown option --" + name + " (known: "
                            + String.join(", ", options.stream().map(o -> "--" + o).toList()) + ")");
                }
            } else {
                throw new IllegalArgumentException(command + ": unexpected argument '" + s + "' (options look like --name value)");
            }
        }
        return a;
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public String require(String command, String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException(command + ": --" + name + " is required");
        }
        return v;
    }

    public int getInt(String name, int fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be an integer, got '" + v + "'", e);
        }
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

}
