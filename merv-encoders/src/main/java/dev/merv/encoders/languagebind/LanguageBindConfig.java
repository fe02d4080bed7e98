package dev.merv.encoders.languagebind;

import static dev.merv.encoders.HfConfigKeys.boolOr;
import static dev.merv.encoders.HfConfigKeys.doubleOr;
import static dev.merv.encoders.HfConfigKeys.intOr;
import static dev.merv.encoders.HfConfigKeys.stringOr;

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

    /**
     * Reads a vision config; keys HF omitted because they equal {@code CLIPVisionConfig}'s defaults
     * (its {@code save_pretrained} writes only the difference) take those defaults. A key of the
     * wrong type fails naming it and {@code source}.
     */
    public static LanguageBindConfig fromJson(JsonObject json, String source) {
        JsonObject c = json.has("vision_config") ? json.getAsJsonObject("vision_config") : json;
        try {
            return new LanguageBindConfig(intOr(c, "hidden_size", 768), intOr(c, "intermediate_size", 3072),
                    intOr(c, "num_hidden_layers", 12), intOr(c, "num_attention_heads", 12), intOr(c, "image_size", 224),
                    intOr(c, "patch_size", 32), Activation.ofHf(stringOr(c, "hidden_act", "quick_gelu")),
                    intOr(c, "num_frames", 1), doubleOr(c, "layer_norm_eps", 1e-5),
                    boolOr(c, "add_time_attn", true));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }
}
