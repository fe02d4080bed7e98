package dev.merv.data.cache;

/**
 * What the feature cache holds for one row's clip, per model encoder: the key its value is stored under
 * (null for an encoder that is not cached), the cached entry (null on a miss), and, for a missed clip whose
 * transform has other random variants not cached yet, those variants, their keys and (filled in by the
 * loader once the clip is decoded) their transformed pixels, which the model encodes only to store them, so
 * that a later epoch drawing another variant finds it.
 */
public record RowFeatures(String[] keys, FeatureCache.Entry[] hits, String[][] extraVariants, String[][] extraKeys,
        float[][][] extraPixels) {

    /** Look-ups made: one per cached encoder. */
    public int lookups() {
        int n = 0;
        for (String k : keys) {
            n += k != null ? 1 : 0;
        }
        return n;
    }

    /** Look-ups answered. */
    public int hitCount() {
        int n = 0;
        for (FeatureCache.Entry e : hits) {
            n += e != null ? 1 : 0;
        }
        return n;
    }

    /** Whether encoder {@code e}'s value comes from the cache. */
    public boolean hit(int e) {
        return hits[e] != null;
    }

    /** Whether no encoder needs pixels: the clip need not be decoded. */
    public boolean complete() {
        for (int e = 0; e < keys.length; e++) {
            if (keys[e] == null || hits[e] == null) {
                return false;
            }
        }
        return true;
    }
}
