package dev.merv.encoders.dinov2;

import com.google.gson.JsonObject;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmVitConfig;

/**
 * DINOv2 with registers from timm ({@code vit_large_patch14_reg4_dinov2.lvd142m}): CLS + 4 register
 * tokens, LayerScale, position embeddings on patch tokens only ({@code no_embed_class}). MERV's
 * {@code dinov2-video-all-tokens} featurizer is the output of block {@code depth - 2} with the 5
 * prefix tokens dropped. The checkpoint's 37x37 grid (518 px) is resampled to the input grid at load
 * (bicubic, antialiased, as timm). The architecture and transform values are the catalog entry's.
 */
public final class Dinov2 {

    private Dinov2() {}

    /** Parses timm kwargs (a catalog entry's config or a checkpoint's); fails unless it is a DINOv2-with-registers ViT. */
    public static TimmVitConfig config(JsonObject json, String source) {
        TimmVitConfig c = TimmVitConfig.fromJson(json, source);
        if (!c.classToken() || c.regTokens() == 0 || !c.noEmbedClass()) {
            throw new IllegalArgumentException(source + ": a DINOv2-reg config needs class_token, reg_tokens > 0 and no_embed_class");
        }
        return c;
    }

    /** A DINOv2 video encoder for {@code height x width} frames, {@code numFrames} of them through {@code transform}. */
    public static TimmFrameEncoder encoder(String id, TimmVitConfig config, int height, int width, int numFrames,
            FrameTransform transform) {
        return TimmFrameEncoder.penultimateBlock(id, config, height, width, numFrames, transform, unusedWeights());
    }

    /** Checkpoint names MERV does not run. */
    public static String[] unusedWeights() {
        return new String[] {"head.", "fc_norm.", "mask_token"};
    }
}
