package dev.merv.core.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The registered model configs for {@code --model.type} (merv-reference.md §1.3): the six reference
 * ids exactly as registered upstream, plus {@code merv-tiny}.
 *
 * <p>{@code merv-tiny} is merv's CPU test/demo model: four tiny random encoders and a tiny Llama-3
 * with the geometry of the {@code merv-forward-tiny} fixture (frames [2,2,4,2], 2x2 pooled tokens per
 * frame, 8 visual tokens, fusion width 32) and a width-64 Llama-2-style LLM that uses the real Llama-2
 * tokenizer ({@link LlmCatalog#TINY_LLAMA2}), so that prompts, masking and generation run the real text
 * path. Its encoder/LLM ids ({@link EncoderCatalog#TINY_LANGUAGEBIND} ...) are built by
 * {@code merv-encoders}/{@code merv-llm} from those fixture configs with random weights.
 */
public final class ModelRegistry {

    public static final String MERV_BASE = "merv-base";
    public static final String MERV_FULL = "merv-full";
    public static final String MERV_TINY = "merv-tiny";

    public static final String LANGUAGEBIND = "languagebind-video-noclass";
    public static final String DINOV2 = "dinov2-video-all-tokens";
    public static final String VIVIT = "vivit-google-b-all-no-cls-16frames";
    public static final String SIGLIP = "siglip-vit-b16-224px-all-no-cls";
    public static final String HIERA = "hiera-base-plus-video";

    private static final Map<String, ModelConfig> REGISTRY = new LinkedHashMap<>();

    static {
        ModelConfig base = mervBase();
        REGISTRY.put(MERV_BASE, base);
        REGISTRY.put(MERV_FULL, copy(base, Map.of("type", MERV_FULL, "model_id", MERV_FULL,
                "arch_specifier", "3davg+linear", "align_train_strategy", "fsdp-full-shard", "align_learning_rate", 1e-4)));
        single(base, "languagebind-single", LANGUAGEBIND, 16);
        single(base, "dinov2-single", DINOV2, 16);
        single(base, "vivit-single", VIVIT, 32);
        single(base, "siglip-single", SIGLIP, 16);
        REGISTRY.put(MERV_TINY, copy(base, Map.ofEntries(
                Map.entry("type", MERV_TINY), Map.entry("model_id", MERV_TINY),
                Map.entry("video_backbone_ids", List.of(EncoderCatalog.TINY_LANGUAGEBIND, EncoderCatalog.TINY_DINOV2,
                        EncoderCatalog.TINY_HIERA, EncoderCatalog.TINY_SIGLIP)),
                Map.entry("llm_backbone_id", LlmCatalog.TINY_LLAMA2),
                Map.entry("llm_max_length", 128),
                Map.entry("num_frames", List.of(2, 2, 4, 2)),
                Map.entry("projector_token_length", 4),
                Map.entry("visual_feature_length", 8),
                Map.entry("align_global_batch_size", 8), Map.entry("align_per_device_batch_size", 4),
                Map.entry("finetune_global_batch_size", 8), Map.entry("finetune_per_device_batch_size", 4),
                Map.entry("finetune_learning_rate", 1e-3),
                Map.entry("enable_gradient_checkpointing", false),
                Map.entry("enable_mixed_precision_training", false),
                Map.entry("fusion_embed_dim", 32))));
    }

    private ModelRegistry() {}

    private static ModelConfig mervBase() {
        return new ModelConfig(MERV_BASE, MERV_BASE, "no-align+3davg+linear", "cross_attention_avg_lq",
                List.of(LANGUAGEBIND, DINOV2, VIVIT, SIGLIP), "llama2-7b-pure", "resize-naive", 2048,
                List.of(16, 16, 32, 16), 64, 1024,
                1, null, 256, 16, 1e-3, 0.0, 1.0, "linear-warmup+cosine-decay", 0.03, "fsdp-shard-grad-op",
                1, null, 128, 8, 2e-5, 0.1, 1.0, "linear-warmup+cosine-decay", 0.03, "fsdp-full-shard",
                true, 512, true, false, 3072);
    }

    private static void single(ModelConfig base, String id, String encoder, int frames) {
        REGISTRY.put(id, copy(base, Map.of("type", id, "model_id", id, "video_backbone_ids", List.of(encoder),
                "num_frames", List.of(frames))));
    }

    private static ModelConfig copy(ModelConfig base, Map<String, Object> changes) {
        Map<String, Object> v = RecordFields.values(base);
        changes.forEach((k, x) -> {
            if (!v.containsKey(k)) {
                throw new IllegalStateException("registry: no field " + k);
            }
            v.put(k, x);
        });
        return RecordFields.build(ModelConfig.class, v);
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
