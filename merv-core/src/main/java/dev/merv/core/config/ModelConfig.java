package dev.merv.core.config;

import java.util.List;

/**
 * Every field of the reference {@code ModelConfig} (merv-reference.md §1.2), in the reference's order,
 * plus merv's own additions at the end. Field names map to the reference's snake_case flags
 * ({@code visualFeatureLength} is {@code --model.visual_feature_length}).
 *
 * @param type the registered id this config started from ({@code --model.type}); kept in the JSON dump
 *     as draccus does
 * @param numFrames frames per encoder; a single value on the command line is broadcast to every encoder
 * @param alignMaxSteps null = run {@code alignEpochs}
 * @param finetuneMaxSteps null = run {@code finetuneEpochs}
 * @param saveCheckpointAfter kept for the reference's config shape; the top-level
 *     {@code --save_checkpoint_after} is the one used (§1.1)
 * @param fusionEmbedDim merv addition: the width of the cross-attention fusion's query and attention
 *     (hard-coded 3072 in the reference; the tiny fixtures use 32)
 */
public record ModelConfig(
        String type,
        String modelId,
        String archSpecifier,
        String featureFusion,
        List<String> videoBackboneIds,
        String llmBackboneId,
        String imageResizeStrategy,
        int llmMaxLength,
        List<Integer> numFrames,
        int projectorTokenLength,
        int visualFeatureLength,
        int alignEpochs,
        Integer alignMaxSteps,
        int alignGlobalBatchSize,
        int alignPerDeviceBatchSize,
        double alignLearningRate,
        double alignWeightDecay,
        double alignMaxGradNorm,
        String alignLrSchedulerType,
        double alignWarmupRatio,
        String alignTrainStrategy,
        int finetuneEpochs,
        Integer finetuneMaxSteps,
        int finetuneGlobalBatchSize,
        int finetunePerDeviceBatchSize,
        double finetuneLearningRate,
        double finetuneWeightDecay,
        double finetuneMaxGradNorm,
        String finetuneLrSchedulerType,
        double finetuneWarmupRatio,
        String finetuneTrainStrategy,
        boolean enableGradientCheckpointing,
        int saveCheckpointAfter,
        boolean enableMixedPrecisionTraining,
        boolean reduceInFullPrecision,
        int fusionEmbedDim) {

    public ModelConfig {
        videoBackboneIds = List.copyOf(videoBackboneIds);
        numFrames = List.copyOf(numFrames);
    }

    /** Number of video encoders. */
    public int numEncoders() {
        return videoBackboneIds.size();
    }

    /** Frames decoded per sample: the largest per-encoder count (§2.4). */
    public int maxFrames() {
        return numFrames.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    /** A copy with one field changed by its snake_case name, value parsed from flag text. */
    public ModelConfig with(String field, String value) {
        return RecordFields.with(this, field, value, "model.");
    }
}
