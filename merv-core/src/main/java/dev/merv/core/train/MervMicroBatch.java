package dev.merv.core.train;

import dev.merv.core.model.MervBatch;

/**
 * Adapts a loader's {@link MervBatch} to the trainer's {@link MicroBatch}: rows and supervised tokens come
 * from the batch; the loader adds how many rows it had to drop and which dataset rows are in it.
 *
 * @param rows the dataset rows in the batch, in batch order (empty when the source does not say)
 */
public record MervMicroBatch(MervBatch batch, int skippedSamples, int[] rows) implements MicroBatch {

    public MervMicroBatch(MervBatch batch) {
        this(batch, 0, new int[0]);
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
