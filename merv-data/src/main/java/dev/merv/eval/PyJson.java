package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.internal.LazilyParsedNumber;
import java.math.BigDecimal;
import java.util.Map;

/**
 * JSON text as Python's {@code json.dumps} writes it with its defaults ({@code ", "} and {@code ": "} separators,
 * non-ASCII escaped as {@code \\uXXXX}, floats as {@code repr}), so the result files read and diff like the
 * reference's. Numbers that came from a parsed file keep their text.
 */
public final class PyJson {

    private PyJson() {}

    /** One line of a {@code .jsonl} file (no newline). */
    public static String dumps(JsonElement e) {
        StringBuilder sb = new StringBuilder();
        write(e, sb);
        return sb.toString();
    }

    private static void write(JsonElement e, StringBuilder sb) {
        if (e == null || e.isJsonNull()) {
            sb.append("null");
        } else if (e.isJsonObject()) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonElement> m : e.getAsJsonObject().entrySet()) {
                sb.append(first ? "" : ", ");
                first = false;
                string(m.getKey(), sb);
                sb.append(": ");
                write(m.getValue(), sb);
            }
            sb.append('}');
        } else if (e.isJsonArray()) {
            sb.append('[');
            JsonArray a = e.getAsJsonArray();
            for (int i = 0; i < a.size(); i++) {
                sb.append(i == 0 ? "" : ", ");
                write(a.get(i), sb);
            }
            sb.append(']');
        } else {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isBoolean()) {
                sb.append(p.getAsBoolean() ? "true" : "false");
            } else if (p.isString()) {
                string(p.getAsString(), sb);
            } else {
                Number n = p.getAsNumber();
                if (n instanceof LazilyParsedNumber || n instanceof Integer || n instanceof Long || n instanceof Short
                        || n instanceof Byte || n instanceof java.math.BigInteger) {
                    sb.append(n);
                } else {
                    sb.append(repr(n.doubleValue()));
                }
            }
        }
    }

    /** Python's {@code repr} of a float: shortest digits, fixed notation for exponents -4..15, else {@code 1e-05}. */
    public static String repr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exp = bd.precision() - bd.scale() - 1;
        if (exp >= -4 && exp < 16) {
            String s = bd.toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        String digits = bd.unscaledValue().abs().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String e = String.format(java.util.Locale.ROOT, "%s%02d", exp < 0 ? "-" : "+", Math.abs(exp));
        return (d < 0 ? "-" : "") + mantissa + "e" + e;
    }

    private static void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** A JSON object of {@code (key, value)} pairs in order (values: JsonElement, String, Number, Boolean). */
    public static JsonObject object(Object... kv) {
        JsonObject o = new JsonObject();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            JsonElement e = v instanceof JsonElement je ? je : v instanceof String s ? new JsonPrimitive(s)
                    : v instanceof Number n ? new JsonPrimitive(n) : v instanceof Boolean b ? new JsonPrimitive(b) : null;
            o.add((String) kv[i], e == null ? com.google.gson.JsonNull.INSTANCE : e);
        }
        return o;
    }
}
