package dev.merv.data.batch;

/**
 * The order in which one rank visits dataset rows in an epoch. Deterministic: the same seed and
 * epoch give the same order on every run, which is what lets a resumed run skip to a position
 * without loading anything before it.
 */
public interface EpochSampler {

    /** Row indices this rank visits in {@code epoch}, in order (rows may repeat where the sampler pads). */
    int[] order(int epoch);
}
