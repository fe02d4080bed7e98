package dev.merv.examples.train;

import dev.merv.core.model.MervBatch;
import dev.merv.core.train.MicroBatch;

/** A collated {@link MervBatch} as the trainer sees it, with the rows the loader had to drop. */
public record MervMicroBatch(MervBatch batch, int skipped) implements MicroBatch {

    @Override
    public int samples() {
        return batch.batchSize();
    }

    @Override
    public long supervisedTokens() {
        return batch.supervisedTokens();
    }

    @Override
    public int skippedSamples() {
        return skipped;
    }

    @Override
    public void close() {
        batch.close();
    }
}
