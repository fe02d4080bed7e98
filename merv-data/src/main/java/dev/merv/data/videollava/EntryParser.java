package dev.merv.data.videollava;

import dev.merv.core.config.Stage;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.merv.core.text.Turn;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses and validates one JSON row. Anything the reference would fail on while building the
 * sample (a list-valued {@code image}/{@code video}, a non-string field, turns that do not
 * alternate, an align row without exactly two turns or with a placeholder in its caption) is a
 * {@link SkipReason#MALFORMED_ENTRY} naming the entry and field.
 */
public final class EntryParser {

    private EntryParser() {}

    public static Entry parse(String json, int index, Stage stage, String file) throws SampleException {
        JsonElement el;
        try {
            el = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw malformed(file, index, "invalid JSON: " + rootMessage(e));
        }
        if (!el.isJsonObject()) {
            throw malformed(file, index, "element is not an object");
        }
        JsonObject o = el.getAsJsonObject();
        JsonElement conv = o.get("conversations");
        if (conv == null || !conv.isJsonArray()) {
            throw malformed(file, index, "field 'conversations' missing or not a list");
        }
        JsonArray arr = conv.getAsJsonArray();
        if (arr.isEmpty()) {
            throw malformed(file, index, "field 'conversations' is empty");
        }
        List<Turn> turns = new ArrayList<>(arr.size());
        for (int t = 0; t < arr.size(); t++) {
            JsonElement te = arr.get(t);
            if (!te.isJsonObject()) {
                throw malformed(file, index, "conversations[" + t + "] is not an object");
            }
            JsonObject to = te.getAsJsonObject();
            String from = string(to, "from", file, index, "conversations[" + t + "].from");
            String value = string(to, "value", file, index, "conversations[" + t + "].value");
            String expected = t % 2 == 0 ? "human" : "gpt";
            if (!expected.equals(from)) {
                throw malformed(file, index, "conversations[" + t + "].from is '" + from + "', expected '" + expected + "'");
            }
            turns.add(new Turn(from, value));
        }
        String video = optionalPath(o, "video", file, index);
        String image = optionalPath(o, "image", file, index);
        if (stage.isAlign()) {
            if (turns.size() != 2) {
                throw malformed(file, index, "align rows need exactly 2 turns, found " + turns.size());
            }
            String caption = turns.get(1).value();
            if (caption.contains("<image>") || caption.contains("<video>")) {
                throw malformed(file, index, "align caption (conversations[1].value) contains a media placeholder");
            }
        }
        if (video != null) {
            return new Entry(index, List.copyOf(turns), video, Entry.Kind.VIDEO, image != null);
        }
        if (image != null) {
            return new Entry(index, List.copyOf(turns), image, Entry.Kind.IMAGE, true);
        }
        return new Entry(index, List.copyOf(turns), null, Entry.Kind.TEXT, false);
    }

    /**
     * The media path of a row without validating the rest (for skip reports of rows that fail
     * later); empty when absent or not a string.
     */
    public static String rawMediaPath(String json) {
        try {
            JsonElement el = JsonParser.parseString(json);
            if (el.isJsonObject()) {
                for (String k : new String[] {"video", "image"}) {
                    JsonElement v = el.getAsJsonObject().get(k);
                    if (v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()) {
                        return v.getAsString();
                    }
                }
            }
        } catch (RuntimeException e) {
            // a malformed row has no path to report
        }
        return "";
    }

    private static String string(JsonObject o, String key, String file, int index, String field)
            throws SampleException {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw malformed(file, index, "field '" + field + "' missing or not a string");
        }
        return v.getAsString();
    }

    private static String optionalPath(JsonObject o, String key, String file, int index) throws SampleException {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull()) {
            return null;
        }
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw malformed(file, index, "field '" + key + "' must be a single path string"
                    + (v.isJsonArray() ? " (lists are not supported)" : ""));
        }
        String p = v.getAsString();
        if (p.isBlank()) {
            throw malformed(file, index, "field '" + key + "' is empty");
        }
        return p;
    }

    private static SampleException malformed(String file, int index, String what) {
        return new SampleException(SkipReason.MALFORMED_ENTRY, file + " entry " + index + ": " + what);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
