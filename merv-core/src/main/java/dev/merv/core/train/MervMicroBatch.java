package dev.merv.core.train;

import dev.merv.core.model.MervBatch;

/**
 * Adapts the loaders' {@link MervBatch} to the trainer's {@link MicroBatch}: rows and supervised
 * tokens come from the batch, replaced bad samples from the loader.
 */
public record MervMicroBatch(MervBatch batch, int skippedSamples) implements MicroBatch {

    public MervMicroBatch(MervBatch batch) {
        this(batch, 0);
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
