package dev.merv.train;

import dev.merv.core.train.StepRecord;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.check.SkipLog;
import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link Training} run did.
 *
 * @param steps one record per optimizer step of this invocation
 * @param runDir the run directory (config, metrics, checkpoints)
 * @param checkpoint the newest checkpoint directory, null if none was written
 * @param skips samples that could not be read (also in {@code skipped.json})
 * @param decodes media files the loader decoded (-1 with a custom batch source)
 * @param featureCache what the frozen-feature cache did in this run (null without one)
 */
public record TrainingResult(List<StepRecord> steps, Path runDir, Path checkpoint, SkipLog skips, long decodes,
        FeatureCache.Stats featureCache) {

    public TrainingResult {
        steps = List.copyOf(steps);
    }

    public TrainingResult(List<StepRecord> steps, Path runDir, Path checkpoint, SkipLog skips) {
        this(steps, runDir, checkpoint, skips, -1, null);
    }

    /** Mean loss of the first {@code n} steps with a finite loss (NaN if there are none). */
    public double meanLossOfFirst(int n) {
        List<Double> l = finiteLosses();
        return mean(l.subList(0, Math.min(n, l.size())));
    }

    /** Mean loss of the last {@code n} steps with a finite loss (NaN if there are none). */
    public double meanLossOfLast(int n) {
        List<Double> l = finiteLosses();
        return mean(l.subList(Math.max(0, l.size() - n), l.size()));
    }

    private List<Double> finiteLosses() {
        return steps.stream().map(StepRecord::loss).filter(Double::isFinite).toList();
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }
}
