package dev.merv.core.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one command-line flag parser of merv: the reference's draccus style, used by {@code pretrain}'s
 * config flags and by every other launcher command.
 *
 * <ul>
 *   <li>Forms: {@code --name value} and {@code --name=value}; dashes in names read as underscores
 *       ({@code --timeout-ms} is {@code timeout_ms}).
 *   <li>A flag followed by another flag (or by nothing) means {@code true}: {@code --resume}, {@code --faults}.
 *   <li>A bracket list the shell split at its spaces ({@code --model.num_frames [16, 16, 32, 16]}) is joined back
 *       up to its closing bracket.
 *   <li>Anything that is not a flag is an error naming it.
 * </ul>
 *
 * {@link #split} gives the raw flags in order (the config parser applies them one by one);
 * {@link #parse} checks them against a command's known names and offers typed getters whose errors name
 * the flag.
 */
public final class Flags {

    /**
     * One {@code --name value} pair, the name normalised (dashes read as underscores).
     *
     * @param bare the flag had no value (its value is {@code true})
     */
    public record Flag(String name, String value, boolean bare) {
        public Flag(String name, String value) {
            this(name, value, false);
        }
    }

    private final String command;
    private final Map<String, String> values;
    private final List<String> positional;

    private Flags(String command, Map<String, String> values, List<String> positional) {
        this.command = command;
        this.values = values;
        this.positional = List.copyOf(positional);
    }

    /** Splits {@code args} into flags in order; fails on a stray value naming it. */
    public static List<Flag> split(String... args) {
        return split(args, Set.of(), null);
    }

    /**
     * Splits {@code args}; {@code switches} never take the next word as their value; words that are no flag
     * go to {@code positional}, or are an error when it is null.
     */
    private static List<Flag> split(String[] args, Set<String> switches, List<String> positional) {
        List<Flag> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                if (positional != null && !a.startsWith("--")) {
                    positional.add(a);
                    continue;
                }
                throw new ConfigException("unexpected argument '" + a + "': flags look like --name value or --name=value"
                        + " (e.g. --model.num_frames [16,16,32,16] or --stage=finetune)");
            }
            String body = a.substring(2);
            String name;
            String value;
            boolean bare = false;
            int eq = body.indexOf('=');
            if (eq >= 0) {
                name = body.substring(0, eq);
                value = body.substring(eq + 1);
            } else {
                name = body;
                if (i + 1 < args.length && !args[i + 1].startsWith("--") && !switches.contains(normalise(name))) {
                    value = args[++i];
                } else {
                    value = "true";
                    bare = true;
                }
            }
            String v = value.trim();
            if ((v.startsWith("[") || v.startsWith("'[") || v.startsWith("\"[")) && !closes(v)) {
                StringBuilder b = new StringBuilder(value);
                while (i + 1 < args.length && !closes(b.toString().trim())) {
                    b.append(' ').append(args[++i]);
                }
                value = b.toString();
            }
            out.add(new Flag(normalise(name), value, bare));
        }
        return out;
    }

    /** {@code --a-b} and {@code --a_b} are the same flag. */
    public static String normalise(String name) {
        return name.replace('-', '_');
    }

    private static boolean closes(String v) {
        return RecordFields.unquote(v).endsWith("]");
    }

    /**
     * Parses {@code args} for {@code command}, accepting only {@code known} names (normalised); an unknown
     * flag is an error listing the known ones; every flag needs a value. A repeated flag keeps its last value.
     */
    public static Flags parse(String command, String[] args, Collection<String> known) {
        return parse(command, args, known, Set.of());
    }

    /** As {@link #parse(String, String[], Collection)}; the {@code switches} may also stand alone (meaning true). */
    public static Flags parse(String command, String[] args, Collection<String> known, Collection<String> switches) {
        return parse(command, args, known, switches, List.of());
    }

    /**
     * As {@link #parse(String, String[], Collection, Collection)}, with exactly {@code positionals.size()} words
     * that are no flag (e.g. {@code IN OUT}), anywhere on the line; a switch never takes the next word.
     */
    public static Flags parse(String command, String[] args, Collection<String> known, Collection<String> switches,
            List<String> positionals) {
        Set<String> names = new TreeSet<>();
        known.forEach(k -> names.add(normalise(k)));
        Set<String> sw = new TreeSet<>();
        switches.forEach(k -> sw.add(normalise(k)));
        names.addAll(sw);
        Map<String, String> v = new LinkedHashMap<>();
        List<String> words = positionals.isEmpty() ? null : new ArrayList<>();
        for (Flag f : split(args, sw, words)) {
            if (!names.contains(f.name())) {
                throw new ConfigException(command + ": unknown flag --" + f.name() + " (known: --"
                        + String.join(", --", names) + ")");
            }
            if (f.bare() && !sw.contains(f.name())) {
                throw new ConfigException(command + ": --" + f.name() + " needs a value");
            }
            v.put(f.name(), f.value());
        }
        if (words != null && words.size() != positionals.size()) {
            throw new ConfigException(command + ": needs " + String.join(" ", positionals) + ", got " + words.size()
                    + " argument(s) " + words);
        }
        return new Flags(command, v, words == null ? List.of() : words);
    }

    /** The {@code i}-th positional word. */
    public String positional(int i) {
        return positional.get(i);
    }

    public boolean has(String name) {
        return values.containsKey(normalise(name));
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(normalise(name), fallback);
    }

    /** The value of a required flag; fails naming it. */
    public String require(String name) {
        String v = values.get(normalise(name));
        if (v == null) {
            throw new ConfigException(command + ": --" + normalise(name) + " is required");
        }
        return v;
    }

    public Path path(String name) {
        return Path.of(require(name));
    }

    public Path path(String name, Path fallback) {
        return has(name) ? Path.of(get(name, null)) : fallback;
    }

    public int getInt(String name, int fallback) {
        return has(name) ? (int) number(name, Integer.MIN_VALUE, Integer.MAX_VALUE) : fallback;
    }

    public long getLong(String name, long fallback) {
        return has(name) ? number(name, Long.MIN_VALUE, Long.MAX_VALUE) : fallback;
    }

    public double getDouble(String name, double fallback) {
        if (!has(name)) {
            return fallback;
        }
        String v = get(name, null);
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(command + ": --" + normalise(name) + " must be a number, got '" + v + "'");
        }
    }

    /**
     * A size in bytes: {@code 2GB}, {@code 500MB}, {@code 1.5GiB}, {@code 4096}; decimal units are powers of
     * 1000, {@code KiB}/{@code MiB}/{@code GiB} powers of 1024. Must be positive.
     */
    public long getBytes(String name, long fallback) {
        if (!has(name)) {
            return fallback;
        }
        String s = get(name, null);
        String t = s.trim().toUpperCase(java.util.Locale.ROOT);
        String[][] units = {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}, {"GB", "1000000000"},
            {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        long mult = 1;
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                mult = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) {
                throw new NumberFormatException();
            }
            return (long) Math.ceil(v * mult);
        } catch (NumberFormatException e) {
            throw new ConfigException(command + ": --" + normalise(name) + " '" + s + "' is not a positive size like 2GB or"
                    + " 500MB");
        }
    }

    public boolean getBool(String name, boolean fallback) {
        if (!has(name)) {
            return fallback;
        }
        String v = get(name, null).trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new ConfigException(command + ": --" + normalise(name) + " must be true or false, got '" + v + "'");
        };
    }

    private long number(String name, long min, long max) {
        String v = get(name, null);
        try {
            long x = Long.parseLong(v.trim());
            if (x < min || x > max) {
                throw new NumberFormatException();
            }
            return x;
        } catch (NumberFormatException e) {
            throw new ConfigException(command + ": --" + normalise(name) + " must be an integer, got '" + v + "'");
        }
    }
}
