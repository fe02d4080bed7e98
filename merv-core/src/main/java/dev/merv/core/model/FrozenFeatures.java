package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a frozen-feature cache supplies for one {@link MervBatch}: per encoder, the values at its
 * {@link FrozenPoint} for the multimodal rows the cache holds, and where the values {@link Merv} computes
 * for the other rows go. An encoder without an entry here is not cached: its pixels hold every
 * multimodal row, as without a cache.
 *
 * <p>For a cached encoder the batch's pixels hold, in multimodal order, only the rows the cache missed,
 * followed by {@link Encoder#extraRows()} rows computed only to be stored (the other random variants of
 * a missed clip, e.g. LanguageBind's flipped side, so that a later epoch finds them).
 */
public final class FrozenFeatures {

    /** Receives the values {@link Merv} computed at an encoder's frozen point, for every row of its pixels. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param encoder the encoder's index in the model
         * @param values {@code [misses + extraRows, ...row shape]}, in the pixels' row order; owned by the batch
         * @param classKeys the rows' mean encoder tokens {@code [rows, C]}, or null when the fusion needs none
         */
        void store(int encoder, NDArray values, NDArray classKeys);
    }

    /**
     * One cached encoder's rows.
     *
     * @param cachedIndex per multimodal row (in {@link MervBatch#multimodalIndices()} order): the row of
     *     {@code cached} holding its value, or -1 when it is computed from the pixels
     * @param cached {@code [hits, ...row shape]} in the point's dtype, rows in multimodal order; null when no row hit
     * @param cachedClassKeys {@code [hits, C]} mean encoder tokens of the cached rows, null unless the fusion needs them
     * @param extraRows pixel rows after the missed ones whose values are only stored
     */
    public record Encoder(int[] cachedIndex, NDArray cached, NDArray cachedClassKeys, int extraRows) {

        public Encoder {
            int hits = 0;
            for (int i : cachedIndex) {
                if (i >= 0) {
                    if (i != hits) {
                        throw new IllegalArgumentException("cached rows must be numbered 0.. in multimodal order, got "
                                + java.util.Arrays.toString(cachedIndex));
                    }
                    hits++;
                }
            }
            long have = cached == null ? 0 : cached.getShape().get(0);
            if (have != hits) {
                throw new IllegalArgumentException(hits + " rows are marked cached but the cached values have " + have);
            }
        }

        /** Multimodal rows whose value the cache supplied. */
        public int hits() {
            int n = 0;
            for (int i : cachedIndex) {
                n += i >= 0 ? 1 : 0;
            }
            return n;
        }

        /** Multimodal rows computed from pixels. */
        public int misses() {
            return cachedIndex.length - hits();
        }

        /** Pixel rows this encoder runs on. */
        public int pixelRows() {
            return misses() + extraRows;
        }
    }

    private final List<Encoder> encoders;
    private final Sink sink;

    /**
     * @param encoders one entry per model encoder, null for an encoder that is not cached
     * @param sink where computed values go (null: nowhere)
     */
    public FrozenFeatures(List<Encoder> encoders, Sink sink) {
        this.encoders = Collections.unmodifiableList(new ArrayList<>(encoders));
        this.sink = sink;
    }

    /** Encoder {@code i}'s rows, or null when it is not cached. */
    public Encoder encoder(int i) {
        return encoders.get(i);
    }

    public int size() {
        return encoders.size();
    }

    /** Hands the computed values of encoder {@code i} to the sink. */
    public void store(int i, NDArray values, NDArray classKeys) {
        if (sink != null) {
            sink.store(i, values, classKeys);
        }
    }
}
