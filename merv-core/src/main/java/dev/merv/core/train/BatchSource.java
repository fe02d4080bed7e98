package dev.merv.core.train;

import ai.djl.ndarray.NDManager;

/**
 * Random-access micro-batches: the trainer asks for micro-batch {@code micro} of replica
 * {@code rank}'s share of global batch {@code stepInEpoch} of {@code epoch}. Because the position is
 * just {@code (epoch, stepInEpoch)}, a resumed run skips to it by index without decoding anything
 * (W12 fix) and a checkpoint written with one replica count resumes with another. The sampler
 * (split-modality or distributed, docs/reference.md §5.5) lives behind this interface; a source may
 * prefetch internally, the trainer measures the time it waits in {@link #load}.
 *
 * <p>{@code load} is called concurrently from every replica's thread.
 *
 * @param <B> the micro-batch type
 */
public interface BatchSource<B extends MicroBatch> {

    /** Optimizer steps (global batches) the sampler really yields in {@code epoch} for this plan. */
    long stepsPerEpoch(int epoch, BatchPlan plan);

    /** One micro-batch, its arrays owned by a sub-manager of {@code manager} (on the replica's device). */
    B load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager);

    /**
     * A hint from replica {@code rank}'s thread, right after it loaded a micro-batch: the one it will ask for
     * next. A source may start building it on its own threads (decoding, tokenising, collating into host
     * memory) while the current micro-batch trains, then hand it over in {@link #load}; the upload to the
     * device stays on the replica's thread. A hint that turns out wrong (training stopped) must cost nothing
     * but the work: results and skip logs come only from {@link #load}.
     */
    default void prefetch(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan) {}
}
