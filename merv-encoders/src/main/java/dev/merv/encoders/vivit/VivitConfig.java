package dev.merv.encoders.vivit;

import static dev.merv.encoders.HfConfigKeys.boolOr;
import static dev.merv.encoders.HfConfigKeys.doubleOr;
import static dev.merv.encoders.HfConfigKeys.intOr;
import static dev.merv.encoders.HfConfigKeys.stringOr;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.encoders.layers.Activation;

/** HF {@code VivitConfig} (key names as in the hub {@code config.json}). */
public record VivitConfig(int imageSize, int numFrames, int[] tubeletSize, int numChannels, int hiddenSize,
        int numHiddenLayers, int numAttentionHeads, int intermediateSize, Activation hiddenAct, double layerNormEps,
        boolean qkvBias) {

    public VivitConfig {
        if (tubeletSize.length != 3) {
            throw new IllegalArgumentException("ViViT: tubelet_size must have 3 entries");
        }
        if (numFrames % tubeletSize[0] != 0 || imageSize % tubeletSize[1] != 0 || imageSize % tubeletSize[2] != 0) {
            throw new IllegalArgumentException("ViViT: num_frames " + numFrames + " / image_size " + imageSize
                    + " not divisible by tubelet_size " + java.util.Arrays.toString(tubeletSize));
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("ViViT: hidden_size " + hiddenSize + " not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
    }

    public int temporalSlots() {
        return numFrames / tubeletSize[0];
    }

    public int gridH() {
        return imageSize / tubeletSize[1];
    }

    public int gridW() {
        return imageSize / tubeletSize[2];
    }

    public int numTubelets() {
        return temporalSlots() * gridH() * gridW();
    }

    public VivitConfig withImageSize(int size) {
        return new VivitConfig(size, numFrames, tubeletSize, numChannels, hiddenSize, numHiddenLayers, numAttentionHeads,
                intermediateSize, hiddenAct, layerNormEps, qkvBias);
    }

    /** Every width divided by {@code k} (heads kept), for benchmarks and tests. */
    public VivitConfig narrower(int k) {
        return new VivitConfig(imageSize, numFrames, tubeletSize, numChannels, hiddenSize / k, numHiddenLayers, numAttentionHeads,
                intermediateSize / k, hiddenAct, layerNormEps, qkvBias);
    }

    /**
     * Reads an HF ViViT config; keys HF omitted because they equal {@code VivitConfig}'s defaults
     * take those defaults. A malformed key fails naming it and {@code source}.
     */
    public static VivitConfig fromJson(JsonObject c, String source) {
        try {
            int[] tubelet = {2, 16, 16};
            if (c.has("tubelet_size")) {
                JsonArray t = c.getAsJsonArray("tubelet_size");
                if (t.size() != 3) {
                    throw new IllegalArgumentException("'tubelet_size' must have 3 entries: " + t);
                }
                tubelet = new int[] {t.get(0).getAsInt(), t.get(1).getAsInt(), t.get(2).getAsInt()};
            }
            return new VivitConfig(intOr(c, "image_size", 224), intOr(c, "num_frames", 32), tubelet, intOr(c, "num_channels", 3),
                    intOr(c, "hidden_size", 768), intOr(c, "num_hidden_layers", 12), intOr(c, "num_attention_heads", 12),
                    intOr(c, "intermediate_size", 3072),
                    Activation.ofHf(stringOr(c, "hidden_act", "gelu_fast")),
                    doubleOr(c, "layer_norm_eps", 1e-6),
                    boolOr(c, "qkv_bias", true));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }
}
