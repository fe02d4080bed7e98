package dev.merv.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Every field of the reference {@code ModelConfig} (docs/reference.md §1.2), in the reference's order,
 * plus merv's own additions at the end. Field names map to the reference's snake_case flags
 * ({@code visualFeatureLength} is {@code --model.visual_feature_length}).
 *
 * @param type the registered id this config started from ({@code --model.type}); kept in the JSON dump
 *     as draccus does
 * @param numFrames frames per encoder; a single value on the command line is broadcast to every encoder
 * @param alignMaxSteps null = run {@code alignEpochs}
 * @param finetuneMaxSteps null = run {@code finetuneEpochs}
 * @param saveCheckpointAfter kept for the reference's config shape; the top-level
 *     {@code --save_checkpoint_after} is the one used (docs/reference.md §1.1)
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

    /** Frames decoded per sample: the largest per-encoder count (docs/reference.md §2.4). */
    public int maxFrames() {
        return numFrames.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    /** A builder with no field set; {@link Builder#build} fails naming every field left unset. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change some fields by name. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.type = type;
        b.modelId = modelId;
        b.archSpecifier = archSpecifier;
        b.featureFusion = featureFusion;
        b.videoBackboneIds = videoBackboneIds;
        b.llmBackboneId = llmBackboneId;
        b.imageResizeStrategy = imageResizeStrategy;
        b.llmMaxLength = llmMaxLength;
        b.numFrames = numFrames;
        b.projectorTokenLength = projectorTokenLength;
        b.visualFeatureLength = visualFeatureLength;
        b.alignEpochs = alignEpochs;
        b.alignMaxSteps = alignMaxSteps;
        b.alignGlobalBatchSize = alignGlobalBatchSize;
        b.alignPerDeviceBatchSize = alignPerDeviceBatchSize;
        b.alignLearningRate = alignLearningRate;
        b.alignWeightDecay = alignWeightDecay;
        b.alignMaxGradNorm = alignMaxGradNorm;
        b.alignLrSchedulerType = alignLrSchedulerType;
        b.alignWarmupRatio = alignWarmupRatio;
        b.alignTrainStrategy = alignTrainStrategy;
        b.finetuneEpochs = finetuneEpochs;
        b.finetuneMaxSteps = finetuneMaxSteps;
        b.finetuneGlobalBatchSize = finetuneGlobalBatchSize;
        b.finetunePerDeviceBatchSize = finetunePerDeviceBatchSize;
        b.finetuneLearningRate = finetuneLearningRate;
        b.finetuneWeightDecay = finetuneWeightDecay;
        b.finetuneMaxGradNorm = finetuneMaxGradNorm;
        b.finetuneLrSchedulerType = finetuneLrSchedulerType;
        b.finetuneWarmupRatio = finetuneWarmupRatio;
        b.finetuneTrainStrategy = finetuneTrainStrategy;
        b.enableGradientCheckpointing = enableGradientCheckpointing;
        b.saveCheckpointAfter = saveCheckpointAfter;
        b.enableMixedPrecisionTraining = enableMixedPrecisionTraining;
        b.reduceInFullPrecision = reduceInFullPrecision;
        b.fusionEmbedDim = fusionEmbedDim;
        return b;
    }

    /**
     * Named-field construction of a {@link ModelConfig}. Every field must be set except
     * {@code align_max_steps} / {@code finetune_max_steps} (unset = run the epochs).
     */
    public static final class Builder {
        private String type;
        private String modelId;
        private String archSpecifier;
        private String featureFusion;
        private List<String> videoBackboneIds;
        private String llmBackboneId;
        private String imageResizeStrategy;
        private Integer llmMaxLength;
        private List<Integer> numFrames;
        private Integer projectorTokenLength;
        private Integer visualFeatureLength;
        private Integer alignEpochs;
        private Integer alignMaxSteps;
        private Integer alignGlobalBatchSize;
        private Integer alignPerDeviceBatchSize;
        private Double alignLearningRate;
        private Double alignWeightDecay;
        private Double alignMaxGradNorm;
        private String alignLrSchedulerType;
        private Double alignWarmupRatio;
        private String alignTrainStrategy;
        private Integer finetuneEpochs;
        private Integer finetuneMaxSteps;
        private Integer finetuneGlobalBatchSize;
        private Integer finetunePerDeviceBatchSize;
        private Double finetuneLearningRate;
        private Double finetuneWeightDecay;
        private Double finetuneMaxGradNorm;
        private String finetuneLrSchedulerType;
        private Double finetuneWarmupRatio;
        private String finetuneTrainStrategy;
        private Boolean enableGradientCheckpointing;
        private Integer saveCheckpointAfter;
        private Boolean enableMixedPrecisionTraining;
        private Boolean reduceInFullPrecision;
        private Integer fusionEmbedDim;

        private Builder() {}

        public Builder type(String v) { type = v; return this; }
        public Builder modelId(String v) { modelId = v; return this; }
        public Builder archSpecifier(String v) { archSpecifier = v; return this; }
        public Builder featureFusion(String v) { featureFusion = v; return this; }
        public Builder videoBackboneIds(List<String> v) { videoBackboneIds = v; return this; }
        public Builder videoBackboneIds(String... v) { videoBackboneIds = List.of(v); return this; }
        public Builder llmBackboneId(String v) { llmBackboneId = v; return this; }
        public Builder imageResizeStrategy(String v) { imageResizeStrategy = v; return this; }
        public Builder llmMaxLength(int v) { llmMaxLength = v; return this; }
        public Builder numFrames(List<Integer> v) { numFrames = v; return this; }
        public Builder numFrames(Integer... v) { numFrames = List.of(v); return this; }
        public Builder projectorTokenLength(int v) { projectorTokenLength = v; return this; }
        public Builder visualFeatureLength(int v) { visualFeatureLength = v; return this; }
        public Builder alignEpochs(int v) { alignEpochs = v; return this; }
        public Builder alignMaxSteps(Integer v) { alignMaxSteps = v; return this; }
        public Builder alignGlobalBatchSize(int v) { alignGlobalBatchSize = v; return this; }
        public Builder alignPerDeviceBatchSize(int v) { alignPerDeviceBatchSize = v; return this; }
        public Builder alignLearningRate(double v) { alignLearningRate = v; return this; }
        public Builder alignWeightDecay(double v) { alignWeightDecay = v; return this; }
        public Builder alignMaxGradNorm(double v) { alignMaxGradNorm = v; return this; }
        public Builder alignLrSchedulerType(String v) { alignLrSchedulerType = v; return this; }
        public Builder alignWarmupRatio(double v) { alignWarmupRatio = v; return this; }
        public Builder alignTrainStrategy(String v) { alignTrainStrategy = v; return this; }
        public Builder finetuneEpochs(int v) { finetuneEpochs = v; return this; }
        public Builder finetuneMaxSteps(Integer v) { finetuneMaxSteps = v; return this; }
        public Builder finetuneGlobalBatchSize(int v) { finetuneGlobalBatchSize = v; return this; }
        public Builder finetunePerDeviceBatchSize(int v) { finetunePerDeviceBatchSize = v; return this; }
        public Builder finetuneLearningRate(double v) { finetuneLearningRate = v; return this; }
        public Builder finetuneWeightDecay(double v) { finetuneWeightDecay = v; return this; }
        public Builder finetuneMaxGradNorm(double v) { finetuneMaxGradNorm = v; return this; }
        public Builder finetuneLrSchedulerType(String v) { finetuneLrSchedulerType = v; return this; }
        public Builder finetuneWarmupRatio(double v) { finetuneWarmupRatio = v; return this; }
        public Builder finetuneTrainStrategy(String v) { finetuneTrainStrategy = v; return this; }
        public Builder enableGradientCheckpointing(boolean v) { enableGradientCheckpointing = v; return this; }
        public Builder saveCheckpointAfter(int v) { saveCheckpointAfter = v; return this; }
        public Builder enableMixedPrecisionTraining(boolean v) { enableMixedPrecisionTraining = v; return this; }
        public Builder reduceInFullPrecision(boolean v) { reduceInFullPrecision = v; return this; }
        public Builder fusionEmbedDim(int v) { fusionEmbedDim = v; return this; }

        /** The config; fails naming every required field that was never set. */
        public ModelConfig build() {
            List<String> missing = new ArrayList<>();
            require(missing, type, "type");
            require(missing, modelId, "model_id");
            require(missing, archSpecifier, "arch_specifier");
            require(missing, featureFusion, "feature_fusion");
            require(missing, videoBackboneIds, "video_backbone_ids");
            require(missing, llmBackboneId, "llm_backbone_id");
            require(missing, imageResizeStrategy, "image_resize_strategy");
            require(missing, llmMaxLength, "llm_max_length");
            require(missing, numFrames, "num_frames");
            require(missing, projectorTokenLength, "projector_token_length");
            require(missing, visualFeatureLength, "visual_feature_length");
            require(missing, alignEpochs, "align_epochs");
            require(missing, alignGlobalBatchSize, "align_global_batch_size");
            require(missing, alignPerDeviceBatchSize, "align_per_device_batch_size");
            require(missing, alignLearningRate, "align_learning_rate");
            require(missing, alignWeightDecay, "align_weight_decay");
            require(missing, alignMaxGradNorm, "align_max_grad_norm");
            require(missing, alignLrSchedulerType, "align_lr_scheduler_type");
            require(missing, alignWarmupRatio, "align_warmup_ratio");
            require(missing, alignTrainStrategy, "align_train_strategy");
            require(missing, finetuneEpochs, "finetune_epochs");
            require(missing, finetuneGlobalBatchSize, "finetune_global_batch_size");
            require(missing, finetunePerDeviceBatchSize, "finetune_per_device_batch_size");
            require(missing, finetuneLearningRate, "finetune_learning_rate");
            require(missing, finetuneWeightDecay, "finetune_weight_decay");
            require(missing, finetuneMaxGradNorm, "finetune_max_grad_norm");
            require(missing, finetuneLrSchedulerType, "finetune_lr_scheduler_type");
            require(missing, finetuneWarmupRatio, "finetune_warmup_ratio");
            require(missing, finetuneTrainStrategy, "finetune_train_strategy");
            require(missing, enableGradientCheckpointing, "enable_gradient_checkpointing");
            require(missing, saveCheckpointAfter, "save_checkpoint_after");
            require(missing, enableMixedPrecisionTraining, "enable_mixed_precision_training");
            require(missing, reduceInFullPrecision, "reduce_in_full_precision");
            require(missing, fusionEmbedDim, "fusion_embed_dim");
            if (!missing.isEmpty()) {
                throw new ConfigException("model config: fields not set: " + missing);
            }
            return new ModelConfig(type, modelId, archSpecifier, featureFusion, videoBackboneIds, llmBackboneId,
                    imageResizeStrategy, llmMaxLength, numFrames, projectorTokenLength, visualFeatureLength,
                    alignEpochs, alignMaxSteps, alignGlobalBatchSize, alignPerDeviceBatchSize, alignLearningRate,
                    alignWeightDecay, alignMaxGradNorm, alignLrSchedulerType, alignWarmupRatio, alignTrainStrategy,
                    finetuneEpochs, finetuneMaxSteps, finetuneGlobalBatchSize, finetunePerDeviceBatchSize,
                    finetuneLearningRate, finetuneWeightDecay, finetuneMaxGradNorm, finetuneLrSchedulerType,
                    finetuneWarmupRatio, finetuneTrainStrategy, enableGradientCheckpointing, saveCheckpointAfter,
                    enableMixedPrecisionTraining, reduceInFullPrecision, fusionEmbedDim);
        }

        private static void require(List<String> missing, Object value, String field) {
            if (value == null) {
                missing.add(field);
            }
        }
    }

    /** A copy with one field changed by its snake_case name, value parsed from flag text. */
    public ModelConfig with(String field, String value) {
        return RecordFields.with(this, field, value, "model.");
    }
}
