package dev.merv.core.config;

import dev.merv.core.catalog.Catalog;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The registered MERV presets for {@code --model.type}: the reference's six ids with the values it
 * registers (every other preset is merv-base with the fields named below changed), plus {@code merv-tiny}.
 *
 * <p>{@code merv-tiny} is merv's CPU test/demo model: four tiny random encoders with the geometry of the
 * {@code merv-forward-tiny} fixture (frames [2,2,4,2], 2x2 pooled tokens per frame, 8 visual tokens, fusion
 * width 32) and a width-64 Llama-2-style LLM that uses the real Llama-2 tokenizer
 * ({@link Catalog#TINY_LLAMA2}), so that prompts, masking and generation run the real text path.
 */
public final class ModelRegistry {

    public static final String MERV_BASE = "merv-base";
    public static final String MERV_FULL = "merv-full";
    public static final String MERV_TINY = "merv-tiny";

    /** The reference's merv-base: four encoders, Llama-2-7B, single-stage finetune recipe. */
    private static final ModelConfig BASE = ModelConfig.builder()
            .type(MERV_BASE)
            .modelId(MERV_BASE)
            .archSpecifier("no-align+3davg+linear")
            .featureFusion("cross_attention_avg_lq")
            .videoBackboneIds(Catalog.LANGUAGEBIND, Catalog.DINOV2, Catalog.VIVIT, Catalog.SIGLIP)
            .llmBackboneId(Catalog.LLAMA2_7B_PURE)
            .imageResizeStrategy("resize-naive")
            .llmMaxLength(2048)
            .numFrames(16, 16, 32, 16)
            .projectorTokenLength(64)
            .visualFeatureLength(1024)
            .alignEpochs(1)
            .alignMaxSteps(null)
            .alignGlobalBatchSize(256)
            .alignPerDeviceBatchSize(16)
            .alignLearningRate(1e-3)
            .alignWeightDecay(0.0)
            .alignMaxGradNorm(1.0)
            .alignLrSchedulerType("linear-warmup+cosine-decay")
            .alignWarmupRatio(0.03)
            .alignTrainStrategy("fsdp-shard-grad-op")
            .finetuneEpochs(1)
            .finetuneMaxSteps(null)
            .finetuneGlobalBatchSize(128)
            .finetunePerDeviceBatchSize(8)
            .finetuneLearningRate(2e-5)
            .finetuneWeightDecay(0.1)
            .finetuneMaxGradNorm(1.0)
            .finetuneLrSchedulerType("linear-warmup+cosine-decay")
            .finetuneWarmupRatio(0.03)
            .finetuneTrainStrategy("fsdp-full-shard")
            .enableGradientCheckpointing(true)
            .saveCheckpointAfter(512)
            .enableMixedPrecisionTraining(true)
            .reduceInFullPrecision(false)
            .fusionEmbedDim(3072)
            .build();

    /** Two-stage recipe: projectors aligned first (align lr 1e-4, full sharding), then finetuned. */
    private static final ModelConfig FULL = BASE.toBuilder()
            .type(MERV_FULL)
            .modelId(MERV_FULL)
            .archSpecifier("3davg+linear")
            .alignLearningRate(1e-4)
            .alignTrainStrategy("fsdp-full-shard")
            .build();

    private static final ModelConfig TINY = BASE.toBuilder()
            .type(MERV_TINY)
            .modelId(MERV_TINY)
            .videoBackboneIds(Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2, Catalog.TINY_HIERA, Catalog.TINY_SIGLIP)
            .llmBackboneId(Catalog.TINY_LLAMA2)
            .llmMaxLength(128)
            .numFrames(2, 2, 4, 2)
            .projectorTokenLength(4)
            .visualFeatureLength(8)
            .alignGlobalBatchSize(8)
            .alignPerDeviceBatchSize(4)
            .finetuneGlobalBatchSize(8)
            .finetunePerDeviceBatchSize(4)
            .finetuneLearningRate(1e-3)
            .enableGradientCheckpointing(false)
            .enableMixedPrecisionTraining(false)
            .fusionEmbedDim(32)
            .build();

    private static final Map<String, ModelConfig> REGISTRY;

    static {
        Map<String, ModelConfig> m = new LinkedHashMap<>();
        m.put(MERV_BASE, BASE);
        m.put(MERV_FULL, FULL);
        m.put("languagebind-single", single("languagebind-single", Catalog.LANGUAGEBIND, 16));
        m.put("dinov2-single", single("dinov2-single", Catalog.DINOV2, 16));
        m.put("vivit-single", single("vivit-single", Catalog.VIVIT, 32));
        m.put("siglip-single", single("siglip-single", Catalog.SIGLIP, 16));
        m.put(MERV_TINY, TINY);
        REGISTRY = Collections.unmodifiableMap(m);
    }

    private ModelRegistry() {}

    /** merv-base with one encoder (the reference keeps merv-base's visual length; merv corrects it at build). */
    private static ModelConfig single(String id, String encoder, int frames) {
        return BASE.toBuilder().type(id).modelId(id).videoBackboneIds(encoder).numFrames(frames).build();
    }

    /** Registered ids, reference ones first. */
    public static Set<String> ids() {
        return REGISTRY.keySet();
    }

    /** The registered config {@code id}; fails naming {@code --model.type} and the valid ids. */
    public static ModelConfig get(String id) {
        ModelConfig c = REGISTRY.get(id);
        if (c == null) {
            throw new ConfigException("model.type='" + id + "' is not a registered model; use one of " + ids()
                    + " (then override single fields with --model.<field>)");
        }
        return c;
    }
}
