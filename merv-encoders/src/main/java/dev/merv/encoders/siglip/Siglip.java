package dev.merv.encoders.siglip;

import com.google.gson.JsonObject;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmPreset;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.ResizeNaiveTransform;

/**
 * SigLIP image towers from timm ({@code vit_*_siglip_*}: no CLS token, attention-pool head that
 * MERV never runs) used as a per-frame video encoder. MERV's {@code ...-all-no-cls} featurizer is
 * the output of block {@code depth - 2} (no final norm), every patch token of every frame.
 * Transform: {@code resize-naive} with PIL bicubic, mean = std = 0.5.
 */
public final class Siglip {

    /**
     * Where the image tower sits in the hub repos timm loads these presets from (open_clip files,
     * which timm's checkpoint filter strips to timm names).
     */
    public static final String HUB_PREFIX = "visual.trunk.";

    public static final float[] MEAN = {0.5f, 0.5f, 0.5f};
    public static final float[] STD = {0.5f, 0.5f, 0.5f};

    /** The real checkpoints (timm names; configs as timm registers them, at their native size). */
    public enum Preset implements TimmPreset {
        VIT_B16_224("vit_base_patch16_siglip_224", "timm/ViT-B-16-SigLIP", vit(224, 16, 768, 12, 12, 0)),
        VIT_B16_256("vit_base_patch16_siglip_256", "timm/ViT-B-16-SigLIP-256", vit(256, 16, 768, 12, 12, 0)),
        VIT_B16_384("vit_base_patch16_siglip_384", "timm/ViT-B-16-SigLIP-384", vit(384, 16, 768, 12, 12, 0)),
        SO400M_14_224("vit_so400m_patch14_siglip_224", "timm/ViT-SO400M-14-SigLIP", vit(224, 14, 1152, 27, 16, 4304));

        private final Checkpoint checkpoint;

        Preset(String timmName, String hubId, TimmVitConfig config) {
            this.checkpoint = new Checkpoint(timmName, hubId, config);
        }

        @Override
        public Checkpoint checkpoint() {
            return checkpoint;
        }
    }

    private Siglip() {}

    private static TimmVitConfig vit(int img, int patch, int dim, int depth, int heads, int mlpHidden) {
        return new TimmVitConfig(img, patch, dim, depth, heads, false, 0, false, null, 4.0, mlpHidden, "map", 1e-6);
    }

    /** The checkpoint's config, or a fixture's timm kwargs. */
    public static TimmVitConfig config(JsonObject json, String source) {
        return TimmVitConfig.fromJson(json, source);
    }

    /**
     * A SigLIP video encoder at {@code imageSize} (MERV: 224 for every id; a checkpoint grid of
     * another size is resampled at load), taking {@code numFrames} frames.
     */
    public static TimmFrameEncoder encoder(String id, TimmVitConfig config, int imageSize, int numFrames) {
        return TimmFrameEncoder.penultimateBlock(id, config, imageSize, numFrames, transform(imageSize), unusedWeights());
    }

    public static TimmFrameEncoder encoder(String id, Preset preset, int imageSize, int numFrames) {
        return encoder(id, preset.config(), imageSize, numFrames);
    }

    public static ResizeNaiveTransform transform(int size) {
        return new ResizeNaiveTransform(size, Filter.BICUBIC, MEAN, STD);
    }

    /** Checkpoint names MERV does not run (the MAP head). */
    public static String[] unusedWeights() {
        return new String[] {"attn_pool.", "head.", "fc_norm."};
    }
}
