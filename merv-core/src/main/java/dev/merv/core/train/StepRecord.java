package dev.merv.core.train;

/**
 * What one optimizer step did, as logged to {@code metrics.jsonl}.
 *
 * @param step 1-based global step after this update (the reference's counter)
 * @param loss the step's loss (token mean over the whole global batch, or mean of means in parity mode), all replicas
 * @param lr the learning rate this step used
 * @param gradNorm the pre-clip global gradient norm
 * @param updated false when the non-finite guard skipped the update
 * @param cacheLookups frozen-feature cache look-ups of the step, all replicas (0 without a cache)
 * @param cacheHits those the cache answered
 */
public record StepRecord(long step, int epoch, double loss, double lr, double gradNorm, boolean updated, long tokens,
        long samples, long skippedSamples, double loaderWaitS, double stepTimeS, float[] mixing, long cacheLookups,
        long cacheHits) {

    /** A step without a feature cache. */
    public StepRecord(long step, int epoch, double loss, double lr, double gradNorm, boolean updated, long tokens,
            long samples, long skippedSamples, double loaderWaitS, double stepTimeS, float[] mixing) {
        this(step, epoch, loss, lr, gradNorm, updated, tokens, samples, skippedSamples, loaderWaitS, stepTimeS, mixing, 0, 0);
    }

    /** The share of cache look-ups answered, NaN when there were none. */
    public double cacheHitRate() {
        return cacheLookups == 0 ? Double.NaN : (double) cacheHits / cacheLookups;
    }
}
