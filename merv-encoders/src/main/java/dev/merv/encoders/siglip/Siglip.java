package dev.merv.encoders.siglip;

import com.google.gson.JsonObject;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmVitConfig;

/**
 * SigLIP image towers from timm ({@code vit_*_siglip_*}: no CLS token, attention-pool head that
 * MERV never runs) used as a per-frame video encoder. MERV's {@code ...-all-no-cls} featurizer is
 * the output of block {@code depth - 2} (no final norm), every patch token of every frame. The hub
 * repos timm loads these from are open_clip files with the image tower under {@code visual.trunk.}
 * (the catalog entries' checkpoint prefix). The architecture and transform values are the catalog entry's.
 */
public final class Siglip {

    private Siglip() {}

    /** Parses timm kwargs (a catalog entry's config or a checkpoint's). */
    public static TimmVitConfig config(JsonObject json, String source) {
        return TimmVitConfig.fromJson(json, source);
    }

    /**
     * A SigLIP video encoder for {@code height x width} frames (MERV: 224 x 224 for every id; a checkpoint grid
     * of another size is resampled at load), taking {@code numFrames} frames through {@code transform}.
     */
    public static TimmFrameEncoder encoder(String id, TimmVitConfig config, int height, int width, int numFrames,
            FrameTransform transform) {
        return TimmFrameEncoder.penultimateBlock(id, config, height, width, numFrames, transform, unusedWeights());
    }

    /** Checkpoint names MERV does not run (the MAP head). */
    public static String[] unusedWeights() {
        return new String[] {"attn_pool.", "head.", "fc_norm."};
    }
}
