package dev.merv.core.train;

/**
 * What one optimizer step did, as logged to {@code metrics.jsonl}.
 *
 * @param step 1-based global step after this update (the reference's counter)
 * @param loss the step's loss (token mean over the whole global batch, or mean of means in parity mode), all replicas
 * @param lr the learning rate this step used
 * @param gradNorm the pre-clip global gradient norm
 * @param updated false when the non-finite guard skipped the update
 */
public record StepRecord(long step, int epoch, double loss, double lr, double gradNorm, boolean updated, long tokens,
        long samples, long skippedSamples, double loaderWaitS, double stepTimeS, float[] mixing) {}
