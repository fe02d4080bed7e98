package dev.merv.encoders.languagebind;

import com.google.gson.JsonObject;
import dev.merv.encoders.layers.Activation;

/**
 * The LanguageBind video tower's {@code CLIPVisionConfig} (HF key names). Read from a checkpoint's
 * {@code config.json}, either a vision config itself or a LanguageBind config with a
 * {@code vision_config} entry.
 *
 * @param numFrames the tower's temporal-attention group size ({@code num_frames}; 8 for
 *     {@code LanguageBind_Video_merge}): frames are attended over in consecutive groups of this many (W2)
 */
public record LanguageBindConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
        int imageSize, int patchSize, Activation hiddenAct, int numFrames, double layerNormEps, boolean addTimeAttn) {

    public LanguageBindConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("LanguageBind: hidden_size " + hiddenSize + " not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("LanguageBind: image_size " + imageSize + " not a multiple of patch_size " + patchSize);
        }
        if (numFrames <= 0) {
            throw new IllegalArgumentException("LanguageBind: num_frames must be positive, got " + numFrames);
        }
    }

    /** {@code LanguageBind/LanguageBind_Video_merge}'s vision tower: ViT-L/14, 224 px, groups of 8 frames. */
    public static LanguageBindConfig videoMerge() {
        return new LanguageBindConfig(1024, 4096, 24, 16, 224, 14, Activation.GELU, 8, 1e-5, true);
    }

    public int gridSize() {
        return imageSize / patchSize;
    }

    public int numPatches() {
        return gridSize() * gridSize();
    }

    public LanguageBindConfig withImageSize(int size) {
        return new LanguageBindConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, size, patchSize, hiddenAct,
                numFrames, layerNormEps, addTimeAttn);
    }

    /** Every width divided by {@code k} (heads kept), for benchmarks and tests. */
    public LanguageBindConfig narrower(int k) {
        return new LanguageBindConfig(hiddenSize / k, intermediateSize / k, numHiddenLayers, numAttentionHeads, imageSize, patchSize,
                hiddenAct, numFrames, layerNormEps, addTimeAttn);
    }

    public static LanguageBindConfig fromJson(JsonObject json, String source) {
        JsonObject c = json.has("vision_config") ? json.getAsJsonObject("vision_config") : json;
        return new LanguageBindConfig(req(c, "hidden_size", source), req(c, "intermediate_size", source),
                req(c, "num_hidden_layers", source), req(c, "num_attention_heads", source), req(c, "image_size", source),
                req(c, "patch_size", source), Activation.ofHf(c.has("hidden_act") ? c.get("hidden_act").getAsString() : "quick_gelu"),
                c.has("num_frames") ? c.get("num_frames").getAsInt() : 1,
                c.has("layer_norm_eps") ? c.get("layer_norm_eps").getAsDouble() : 1e-5,
                !c.has("add_time_attn") || c.get("add_time_attn").getAsBoolean());
    }

    private static int req(JsonObject c, String key, String source) {
        if (!c.has(key)) {
            throw new IllegalArgumentException(source + ": missing '" + key + "'");
        }
        return c.get(key).getAsInt();
    }
}
