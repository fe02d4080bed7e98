package dev.merv.data.cache;

import ai.djl.ndarray.NDArray;
import dev.merv.core.model.FrozenFeatures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The loader's side of the feature cache: looks a row's clip up before it is decoded and gives the model
 * a {@link FrozenFeatures.Sink} that stores what it computes for the rows the cache missed. One per
 * loader; thread-safe.
 */
public final class CacheLookup {

    private final FeatureCache cache;
    private final FeatureKeys keys;
    private final FileHashes hashes;
    private final boolean storeVariants;
    private final AtomicLong lookups = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();

    /**
     * @param storeVariants on a miss, also compute and store the transform's other random variants of the
     *     clip (LanguageBind's other flip side), so that every later epoch finds its variant
     */
    public CacheLookup(FeatureCache cache, FeatureKeys keys, FileHashes hashes, boolean storeVariants) {
        this.cache = cache;
        this.keys = keys;
        this.hashes = hashes;
        this.storeVariants = storeVariants;
    }

    public FeatureCache cache() {
        return cache;
    }

    public FeatureKeys keys() {
        return keys;
    }

    /**
     * Looks up every cached encoder's value for the clip in {@code file}.
     *
     * @param image whether the file is a still image used as a clip
     * @param variants per encoder the transform's variant for this row (empty: that encoder is not cached for it)
     * @return null when the file cannot be read (the decoder then reports it)
     */
    public RowFeatures lookup(Path file, boolean image, List<Optional<String>> variants) {
        String content;
        try {
            content = hashes.sha256(file);
        } catch (IOException e) {
            return null;
        }
        String media = media(file, image);
        int n = keys.size();
        String[] k = new String[n];
        FeatureCache.Entry[] hit = new FeatureCache.Entry[n];
        String[][] extraVariants = new String[n][];
        String[][] extraKeys = new String[n][];
        for (int e = 0; e < n; e++) {
            FeatureKeys.EncoderKey ek = keys.encoder(e);
            extraVariants[e] = new String[0];
            extraKeys[e] = new String[0];
            if (ek == null || variants.get(e).isEmpty()) {
                continue;
            }
            String variant = variants.get(e).get();
            k[e] = keys.key(e, media, content, variant);
            hit[e] = valid(ek, cache.get(k[e]));
            if (hit[e] == null && storeVariants) {
                List<String> extra = new ArrayList<>();
                List<String> extraKey = new ArrayList<>();
                for (String v : ek.transform().variants()) {
                    String other = keys.key(e, media, content, v);
                    if (!v.equals(variant) && !cache.contains(other)) {
                        extra.add(v);
                        extraKey.add(other);
                    }
                }
                extraVariants[e] = extra.toArray(String[]::new);
                extraKeys[e] = extraKey.toArray(String[]::new);
            }
        }
        RowFeatures r = new RowFeatures(k, hit, extraVariants, extraKeys, new float[n][][]);
        lookups.addAndGet(r.lookups());
        hits.addAndGet(r.hitCount());
        return r;
    }

    /** {@code video}, {@code gif} or {@code image} (from how the loader decodes the file). */
    static String media(Path file, boolean image) {
        if (image) {
            return "image";
        }
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gif") ? "gif" : "video";
    }

    /** A cached entry whose dtype or shape is not this model's is a miss (a damaged or foreign entry). */
    private static FeatureCache.Entry valid(FeatureKeys.EncoderKey ek, FeatureCache.Entry e) {
        if (e == null) {
            return null;
        }
        boolean ok = e.value().dtype() == ek.dtype() && Arrays.equals(e.value().shape(), ek.rowShape())
                && (e.classKey() != null) == ek.classKey();
        return ok ? e : null;
    }

    /** Look-ups and hits since the loader started. */
    public long lookups() {
        return lookups.get();
    }

    public long hits() {
        return hits.get();
    }

    /**
     * A sink storing each computed row under its key ({@code keys[encoder][row]}, null: not stored).
     */
    public FrozenFeatures.Sink sink(String[][] rowKeys) {
        return (encoder, values, classKeys) -> {
            String[] ks = rowKeys[encoder];
            if (ks == null) {
                return;
            }
            List<FeatureCache.Tensor> v = HostTensors.rows(values);
            List<FeatureCache.Tensor> c = classKeys == null ? null : HostTensors.rows(classKeys);
            if (v.size() != ks.length) {
                throw new IllegalStateException("encoder " + encoder + " computed " + v.size() + " rows for " + ks.length
                        + " cache keys");
            }
            for (int r = 0; r < ks.length; r++) {
                if (ks[r] != null) {
                    cache.put(ks[r], new FeatureCache.Entry(v.get(r), c == null ? null : c.get(r)));
                }
            }
        };
    }

    /** Cached rows stacked as stored, a row-major host tensor for upload (see {@link #inLayout}). */
    public static NDArray stackStored(List<FeatureCache.Tensor> rows, ai.djl.ndarray.NDManager host) {
        return HostTensors.stackStored(rows, host);
    }

    /** Stacked stored rows viewed in their logical axis order and original memory layout ({@code order}: a row's). */
    public static NDArray inLayout(NDArray stored, int[] order) {
        return HostTensors.inLayout(stored, order);
    }
}
