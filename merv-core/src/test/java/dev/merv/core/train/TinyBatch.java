package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** A stand-in micro-batch: ids and labels {@code [B, T]} int64 (labels -100 where unsupervised). */
record TinyBatch(NDArray ids, NDArray labels, long supervisedTokens, int samples, NDManager manager) implements MicroBatch {
    @Override
    public void close() {
        manager.close();
    }
}
