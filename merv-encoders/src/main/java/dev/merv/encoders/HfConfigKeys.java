package dev.merv.encoders;

import com.google.gson.JsonObject;

/**
 * Optional keys of a Hugging Face {@code config.json}. {@code save_pretrained} writes only the keys that
 * differ from the config class's defaults, so a missing key means that default. A key of the wrong type
 * fails naming the key (callers add the file).
 */
public final class HfConfigKeys {

    private HfConfigKeys() {}

    public static int intOr(JsonObject c, String key, int def) {
        if (!c.has(key)) {
            return def;
        }
        try {
            return c.get(key).getAsInt();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + key + "' is not an integer: " + c.get(key));
        }
    }

    public static double doubleOr(JsonObject c, String key, double def) {
        return c.has(key) ? c.get(key).getAsDouble() : def;
    }

    public static boolean boolOr(JsonObject c, String key, boolean def) {
        return c.has(key) ? c.get(key).getAsBoolean() : def;
    }

    public static String stringOr(JsonObject c, String key, String def) {
        return c.has(key) ? c.get(key).getAsString() : def;
    }
}
