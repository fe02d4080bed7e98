package dev.merv.core.train;

import dev.merv.core.model.MervBatch;

/**
 * Adapts a loader's {@link MervBatch} to the trainer's {@link MicroBatch}: rows and supervised tokens come
 * from the batch; the loader adds how many rows it had to drop and which dataset rows are in it.
 *
 * @param rows the dataset rows in the batch, in batch order (empty when the source does not say)
 * @param cacheLookups frozen-feature cache look-ups made for the batch (0 without a cache)
 * @param cacheHits look-ups the cache answered
 */
public record MervMicroBatch(MervBatch batch, int skippedSamples, int[] rows, long cacheLookups, long cacheHits)
        implements MicroBatch {

    public MervMicroBatch(MervBatch batch) {
        this(batch, 0, new int[0]);
    }

    public MervMicroBatch(MervBatch batch, int skippedSamples, int[] rows) {
        this(batch, skippedSamples, rows, 0, 0);
    }

    @Override
    public int samples() {
        return batch.batchSize();
    }

    @Override
    public long supervisedTokens() {
        return batch.supervisedTokens();
    }

    @Override
    public void close() {
        batch.close();
    }
}
