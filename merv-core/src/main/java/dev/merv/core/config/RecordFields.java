package dev.merv.core.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Field access for the config records by their reference (snake_case) names, so that the CLI parser
 * and the JSON codec share one list of fields: the record's components. Supported field types: String,
 * int/Integer, double/Double, boolean, Path, {@link Stage}, {@link Resume}, lists of String/Integer/Path and
 * nested config records.
 */
final class RecordFields {

    private RecordFields() {}

    static String snake(String camel) {
        StringBuilder b = new StringBuilder();
        for (char c : camel.toCharArray()) {
            if (Character.isUpperCase(c)) {
                b.append('_').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static List<String> names(Class<? extends Record> cls) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : cls.getRecordComponents()) {
            out.add(snake(c.getName()));
        }
        return out;
    }

    static Map<String, Object> values(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            try {
                out.put(snake(c.getName()), c.getAccessor().invoke(r));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    static RecordComponent component(Class<? extends Record> cls, String field) {
        for (RecordComponent c : cls.getRecordComponents()) {
            if (snake(c.getName()).equals(field)) {
                return c;
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    static <R extends Record> R build(Class<R> cls, Map<String, Object> values) {
        RecordComponent[] comps = cls.getRecordComponents();
        Class<?>[] types = new Class<?>[comps.length];
        Object[] args = new Object[comps.length];
        for (int i = 0; i < comps.length; i++) {
            types[i] = comps[i].getType();
            args[i] = values.get(snake(comps[i].getName()));
        }
        try {
            Constructor<R> ctor = cls.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + cls.getSimpleName() + ": " + e, e);
        }
    }

    /** {@code r} with {@code field} set from flag text; {@code prefix} is only for messages. */
    static <R extends Record> R with(R r, String field, String text, String prefix) {
        @SuppressWarnings("unchecked")
        Class<R> cls = (Class<R>) r.getClass();
        RecordComponent c = component(cls, field);
        if (c == null) {
            throw new ConfigException("unknown flag --" + prefix + field + "; " + prefix + "* fields are " + names(cls));
        }
        Map<String, Object> v = values(r);
        v.put(field, parse(c.getGenericType(), text, prefix + field));
        return build(cls, v);
    }

    // ------------------------------------------------------------------------------ text values

    static Object parse(Type type, String text, String flag) {
        String t = unquote(text.trim());
        if (type instanceof ParameterizedType pt && pt.getRawType() == List.class) {
            Type elem = pt.getActualTypeArguments()[0];
            List<Object> out = new ArrayList<>();
            if (t.startsWith("[") || t.startsWith("(")) {
                if (!(t.endsWith("]") || t.endsWith(")"))) {
                    throw new ConfigException("--" + flag + " " + text + ": unterminated list; write it as [a,b,c]");
                }
                String inner = t.substring(1, t.length() - 1).trim();
                if (!inner.isEmpty()) {
                    for (String part : inner.split(",")) {
                        out.add(parse(elem, part, flag));
                    }
                }
            } else if (!t.isEmpty()) {
                // a single value: num_frames 16 is broadcast later (reference __post_init__)
                out.add(parse(elem, t, flag));
            }
            return out;
        }
        // "None"/"null" clear optional numbers and paths; strings stay literal (arch "...+none" is a value)
        boolean nullable = !(type instanceof Class<?> k && k.isPrimitive()) && type != String.class;
        if (nullable && (t.equalsIgnoreCase("null") || t.equalsIgnoreCase("none"))) {
            return null;
        }
        try {
            if (type == String.class) {
                return t;
            }
            if (type == int.class || type == Integer.class) {
                return Integer.parseInt(t);
            }
            if (type == long.class || type == Long.class) {
                return Long.parseLong(t);
            }
            if (type == double.class || type == Double.class) {
                return Double.parseDouble(t);
            }
            if (type == boolean.class || type == Boolean.class) {
                String l = t.toLowerCase(Locale.ROOT);
                if (l.equals("true") || l.equals("1") || l.equals("yes")) {
                    return true;
                }
                if (l.equals("false") || l.equals("0") || l.equals("no")) {
                    return false;
                }
                throw new NumberFormatException("not a boolean");
            }
            if (type == Path.class) {
                return Path.of(t);
            }
            if (type == Stage.class) {
                return Stage.parse(t);
            }
            if (type == Resume.class) {
                return Resume.parse(t);
            }
        } catch (NumberFormatException e) {
            throw new ConfigException("--" + flag + " " + text + ": expected " + typeName(type) + " (" + e.getMessage() + ")");
        }
        throw new ConfigException("--" + flag + " cannot be set from the command line (" + typeName(type) + ")");
    }

    static String unquote(String s) {
        if (s.length() >= 2 && ((s.startsWith("'") && s.endsWith("'")) || (s.startsWith("\"") && s.endsWith("\"")))) {
            return s.substring(1, s.length() - 1);
        }
        return s;
    }

    private static String typeName(Type t) {
        return t instanceof Class<?> c ? c.getSimpleName().toLowerCase(Locale.ROOT) : t.getTypeName();
    }

    // ------------------------------------------------------------------------------ JSON values

    static JsonObject toJson(Record r) {
        JsonObject o = new JsonObject();
        values(r).forEach((k, v) -> o.add(k, toJsonValue(v)));
        return o;
    }

    private static JsonElement toJsonValue(Object v) {
        if (v == null) {
            return JsonNull.INSTANCE;
        }
        if (v instanceof Record rec) {
            return toJson(rec);
        }
        if (v instanceof List<?> l) {
            JsonArray a = new JsonArray();
            l.forEach(x -> a.add(toJsonValue(x)));
            return a;
        }
        if (v instanceof Number n) {
            return new JsonPrimitive(n);
        }
        if (v instanceof Boolean b) {
            return new JsonPrimitive(b);
        }
        if (v == Resume.NEVER || v == Resume.REQUIRED) {
            // the boolean form, as configs written before "auto" existed hold it
            return new JsonPrimitive(v == Resume.REQUIRED);
        }
        return new JsonPrimitive(v.toString());
    }

    /** Builds a record from JSON; every field must be present (a config dump is complete). */
    @SuppressWarnings("unchecked")
    static <R extends Record> R fromJson(Class<R> cls, JsonObject o, String prefix) {
        Map<String, Object> values = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (RecordComponent c : cls.getRecordComponents()) {
            String name = snake(c.getName());
            if (!o.has(name)) {
                missing.add(prefix + name);
                continue;
            }
            values.put(name, fromJsonValue(c.getGenericType(), o.get(name), prefix + name));
        }
        for (String k : o.keySet()) {
            if (component(cls, k) == null) {
                throw new ConfigException("config JSON: unknown field '" + prefix + k + "'; " + cls.getSimpleName()
                        + " fields are " + names(cls));
            }
        }
        if (!missing.isEmpty()) {
            throw new ConfigException("config JSON: missing field(s) " + missing);
        }
        return build(cls, values);
    }

    @SuppressWarnings("unchecked")
    private static Object fromJsonValue(Type type, JsonElement e, String field) {
        if (e == null || e.isJsonNull()) {
            if (type instanceof Class<?> k && k.isPrimitive()) {
                throw new ConfigException("config JSON: field '" + field + "' may not be null");
            }
            return null;
        }
        if (type instanceof Class<?> k && Record.class.isAssignableFrom(k)) {
            if (!e.isJsonObject()) {
                throw new ConfigException("config JSON: field '" + field + "' must be an object");
            }
            return fromJson((Class<? extends Record>) k, e.getAsJsonObject(), field + ".");
        }
        if (type instanceof ParameterizedType pt && pt.getRawType() == List.class) {
            if (!e.isJsonArray()) {
                throw new ConfigException("config JSON: field '" + field + "' must be a list");
            }
            List<Object> out = new ArrayList<>();
            for (JsonElement x : e.getAsJsonArray()) {
                out.add(fromJsonValue(pt.getActualTypeArguments()[0], x, field));
            }
            return out;
        }
        if (!e.isJsonPrimitive()) {
            throw new ConfigException("config JSON: field '" + field + "' must be a scalar");
        }
        return parse(type, e.getAsString(), field);
    }
}
