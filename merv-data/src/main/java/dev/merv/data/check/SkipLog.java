package dev.merv.data.check;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe record of skipped entries. Each entry index is reported once (the first reason
 * seen); {@link #occurrences()} counts every skip, so an entry that fails again in a later epoch
 * is counted again but listed once.
 */
public final class SkipLog {

    private static final Logger LOG = LoggerFactory.getLogger(SkipLog.class);

    private final ConcurrentSkipListMap<Integer, Skip> byIndex = new ConcurrentSkipListMap<>();
    private final AtomicLong occurrences = new AtomicLong();

    public void add(Skip skip) {
        occurrences.incrementAndGet();
        if (byIndex.putIfAbsent(skip.index(), skip) == null) {
            LOG.warn("skipping entry {} of {} ({}): {} [{}]", skip.index(), skip.json(), skip.path(),
                    skip.reason().code(), skip.detail());
        }
    }

    /** Distinct skipped entries, by ascending index. */
    public List<Skip> skips() {
        return new ArrayList<>(byIndex.values());
    }

    public int size() {
        return byIndex.size();
    }

    public boolean contains(int index) {
        return byIndex.containsKey(index);
    }

    public long occurrences() {
        return occurrences.get();
    }

    public Map<SkipReason, Integer> countsByReason() {
        Map<SkipReason, Integer> out = new EnumMap<>(SkipReason.class);
        for (Skip s : byIndex.values()) {
            out.merge(s.reason(), 1, Integer::sum);
        }
        return out;
    }

    /** The {@code skipped} array of the check report. */
    public JsonArray toJson() {
        JsonArray arr = new JsonArray();
        for (Skip s : byIndex.values()) {
            JsonObject o = new JsonObject();
            o.addProperty("index", s.index());
            o.addProperty("json", s.json());
            o.addProperty("path", s.path());
            o.addProperty("reason", s.reason().code());
            o.addProperty("detail", s.detail());
            arr.add(o);
        }
        return arr;
    }
}
