package dev.merv.encoders.dinov2;

import com.google.gson.JsonObject;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmPreset;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.ResizeNaiveTransform;

/**
 * DINOv2 with registers from timm ({@code vit_large_patch14_reg4_dinov2.lvd142m}): CLS + 4 register
 * tokens, LayerScale, position embeddings on patch tokens only ({@code no_embed_class}). MERV's
 * {@code dinov2-video-all-tokens} featurizer is the output of block {@code depth - 2} with the 5
 * prefix tokens dropped. The checkpoint's 37x37 grid (518 px) is resampled to the input grid at load
 * (bicubic, antialiased, as timm). Transform: {@code resize-naive} with PIL bicubic, ImageNet mean/std.
 */
public final class Dinov2 {

    public static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] STD = {0.229f, 0.224f, 0.225f};

    /** The real checkpoint (timm name; native 518 px = 37x37 patches). */
    public enum Preset implements TimmPreset {
        VIT_L14_REG4("vit_large_patch14_reg4_dinov2.lvd142m", "timm/vit_large_patch14_reg4_dinov2.lvd142m",
                new TimmVitConfig(518, 14, 1024, 24, 16, true, 4, true, 1e-5, 4.0, 0, "token", 1e-6));

        private final Checkpoint checkpoint;

        Preset(String timmName, String hubId, TimmVitConfig config) {
            this.checkpoint = new Checkpoint(timmName, hubId, config);
        }

        @Override
        public Checkpoint checkpoint() {
            return checkpoint;
        }
    }

    private Dinov2() {}

    public static TimmVitConfig config(JsonObject json, String source) {
        TimmVitConfig c = TimmVitConfig.fromJson(json, source);
        if (!c.classToken() || c.regTokens() == 0 || !c.noEmbedClass()) {
            throw new IllegalArgumentException(source + ": a DINOv2-reg config needs class_token, reg_tokens > 0 and no_embed_class");
        }
        return c;
    }

    public static TimmFrameEncoder encoder(String id, TimmVitConfig config, int imageSize, int numFrames) {
        return TimmFrameEncoder.penultimateBlock(id, config, imageSize, numFrames, transform(imageSize), unusedWeights());
    }

    public static TimmFrameEncoder encoder(String id, Preset preset, int imageSize, int numFrames) {
        return encoder(id, preset.config(), imageSize, numFrames);
    }

    public static ResizeNaiveTransform transform(int size) {
        return new ResizeNaiveTransform(size, Filter.BICUBIC, MEAN, STD);
    }

    public static String[] unusedWeights() {
        return new String[] {"head.", "fc_norm.", "mask_token"};
    }
}
