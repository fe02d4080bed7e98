package dev.merv.core.train;

/**
 * One micro-batch as the trainer sees it: how many rows and supervised tokens it carries (for
 * token-weighted accumulation and throughput metrics) and how many bad samples the loader had to
 * replace while building it. Closing it frees its arrays. The MERV adapter wraps
 * {@link dev.merv.core.model.MervBatch}.
 */
public interface MicroBatch extends AutoCloseable {

    /** Rows in this micro-batch. */
    int samples();

    /** Label positions that are supervised after the shift (labels != -100). */
    long supervisedTokens();

    /** Samples the loader replaced because they could not be read (W14 counts them). */
    default int skippedSamples() {
        return 0;
    }

    /** Frozen-feature cache look-ups the loader made for this micro-batch (one per multimodal row and cached encoder). */
    default long cacheLookups() {
        return 0;
    }

    /** Those of {@link #cacheLookups()} the cache answered. */
    default long cacheHits() {
        return 0;
    }

    @Override
    void close();
}
