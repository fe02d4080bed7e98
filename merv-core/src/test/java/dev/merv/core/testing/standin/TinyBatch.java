package dev.merv.core.testing.standin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.train.MicroBatch;

/** A stand-in micro-batch: ids and labels {@code [B, T]} int64 (labels -100 where unsupervised). */
public record TinyBatch(NDArray ids, NDArray labels, long supervisedTokens, int samples, NDManager manager) implements MicroBatch {
    @Override
    public void close() {
        manager.close();
    }
}
