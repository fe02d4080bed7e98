package dev.merv.data.batch;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * Where a loader is: the epoch and the number of micro-batches of that epoch already handed out.
 * Saved with a checkpoint; a loader restored from it continues with the next unseen micro-batch
 * without loading the ones before it (W12). A state at the end of an epoch resumes there (the
 * trainer then moves to the next epoch), never by re-running the finished epoch.
 */
public record LoaderState(int epoch, long position) {

    public LoaderState {
        if (epoch < 0 || position < 0) {
            throw new IllegalArgumentException("loader state epoch " + epoch + " position " + position);
        }
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("epoch", epoch);
        o.addProperty("position", position);
        return o;
    }

    public static LoaderState fromJson(JsonObject o) {
        if (!o.has("epoch") || !o.has("position")) {
            throw new IllegalArgumentException("loader state needs 'epoch' and 'position': " + o);
        }
        return new LoaderState(o.get("epoch").getAsInt(), o.get("position").getAsLong());
    }

    public static LoaderState parse(String json) {
        return fromJson(JsonParser.parseString(json).getAsJsonObject());
    }
}
