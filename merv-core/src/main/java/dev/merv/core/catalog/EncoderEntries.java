package dev.merv.core.catalog;

import static dev.merv.core.catalog.EncoderFamily.DINOV2;
import static dev.merv.core.catalog.EncoderFamily.HIERA;
import static dev.merv.core.catalog.EncoderFamily.LANGUAGEBIND;
import static dev.merv.core.catalog.EncoderFamily.SIGLIP;
import static dev.merv.core.catalog.EncoderFamily.VIVIT;
import static dev.merv.core.catalog.FrameTransformSpec.Interpolation.BICUBIC;
import static dev.merv.core.catalog.FrameTransformSpec.Interpolation.BILINEAR;
import static dev.merv.core.catalog.Provenance.MERV_EXTRA;
import static dev.merv.core.catalog.Provenance.MERV_TINY;
import static dev.merv.core.catalog.Provenance.REFERENCE;

import java.util.List;

/**
 * Every video-encoder id: the reference's registered ids (those merv builds, then those it cannot, with
 * the reason), merv's extra SigLIP checkpoints, and {@code merv-tiny}'s random encoders. Architecture
 * values are the checkpoints' own (HF {@code config.json} keys, timm / hiera kwargs at the native size);
 * the encoders are built at the transform's size, 224 px for every real checkpoint as MERV does.
 */
final class EncoderEntries {

    private EncoderEntries() {}

    private static final List<Float> CLIP_MEAN = List.of(0.48145466f, 0.4578275f, 0.40821073f);
    private static final List<Float> CLIP_STD = List.of(0.26862954f, 0.26130258f, 0.27577711f);
    private static final List<Float> IMAGENET_MEAN = List.of(0.485f, 0.456f, 0.406f);
    private static final List<Float> IMAGENET_STD = List.of(0.229f, 0.224f, 0.225f);
    private static final List<Float> HALF = List.of(0.5f, 0.5f, 0.5f);
    private static final List<Float> HIERA_MEAN = List.of(0.45f, 0.45f, 0.45f);
    private static final List<Float> HIERA_STD = List.of(0.225f, 0.225f, 0.225f);

    /**
     * MERV's transforms at 224 px ({@code resize-naive} keeps each checkpoint's filter and normalisation). The
     * crop fraction is the checkpoint's evaluation transform, which {@code resize-crop} and {@code letterbox} run:
     * timm's DINOv2 (crop_pct 1) and MERV's SigLIP fix resize the short side to 224, Hiera's and ViViT's to 256.
     */
    private static final FrameTransformSpec LANGUAGEBIND_224 = FrameTransformSpec.clipVideo(224, CLIP_MEAN, CLIP_STD);
    private static final FrameTransformSpec DINOV2_224 = FrameTransformSpec.pilFrames(224, BICUBIC, IMAGENET_MEAN, IMAGENET_STD,
            1.0, true);
    private static final FrameTransformSpec SIGLIP_224 = FrameTransformSpec.pilFrames(224, BICUBIC, HALF, HALF, 1.0, true);
    /** ViViT's hub image-processor values (short side 256, crop 224). */
    private static final FrameTransformSpec VIVIT_224 = FrameTransformSpec.pilFrames(224, BILINEAR, HALF, HALF, 224.0 / 256, true);
    /** Hiera's transform in MERV (resize 256, crop 224); no letterbox: its configuration carries no mean. */
    private static final FrameTransformSpec HIERA_224 = FrameTransformSpec.pilFrames(224, BILINEAR, HIERA_MEAN, HIERA_STD,
            224.0 / 256, false);

    /** {@code LanguageBind/LanguageBind_Video_merge}'s vision tower (CLIP ViT-L/14, temporal attention over groups of 8 frames). */
    private static final String LANGUAGEBIND_VIDEO_MERGE = """
            {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
             "image_size": 224, "patch_size": 14, "hidden_act": "gelu", "num_frames": 8, "layer_norm_eps": 1e-05,
             "add_time_attn": true}""";
    /** timm {@code vit_large_patch14_reg4_dinov2.lvd142m} (native 518 px, 37x37 grid resampled at load). */
    private static final String DINOV2_L14_REG4 = """
            {"img_size": 518, "patch_size": 14, "embed_dim": 1024, "depth": 24, "num_heads": 16, "init_values": 1e-05,
             "reg_tokens": 4, "no_embed_class": true}""";
    /** HF {@code google/vivit-b-16x2-kinetics400}. */
    private static final String VIVIT_B16X2 = """
            {"image_size": 224, "num_frames": 32, "tubelet_size": [2, 16, 16], "num_channels": 3, "hidden_size": 768,
             "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu_fast",
             "layer_norm_eps": 1e-06, "qkv_bias": true}""";
    /** hiera {@code hiera_base_plus_16x224} (video, K400). */
    private static final String HIERA_BASE_PLUS_16X224 = """
            {"input_size": [16, 224, 224], "embed_dim": 112, "num_heads": 2, "stages": [2, 3, 16, 3], "q_pool": 3,
             "q_stride": [1, 2, 2], "mask_unit_size": [1, 8, 8], "mask_unit_attn": [true, true, false, false],
             "dim_mul": 2.0, "head_mul": 2.0, "patch_kernel": [3, 7, 7], "patch_stride": [2, 4, 4],
             "patch_padding": [1, 3, 3], "mlp_ratio": 4.0, "sep_pos_embed": true, "norm_eps": 1e-06, "num_classes": 400}""";

    /** timm SigLIP kwargs (no CLS token, attention-pool head that MERV never runs). */
    private static String siglip(int imgSize, int patch, int dim, int depth, int heads, String mlpRatio) {
        return "{\"img_size\": " + imgSize + ", \"patch_size\": " + patch + ", \"embed_dim\": " + dim + ", \"depth\": " + depth
                + ", \"num_heads\": " + heads + (mlpRatio == null ? "" : ", \"mlp_ratio\": " + mlpRatio)
                + ", \"class_token\": false, \"global_pool\": \"map\"}";
    }

    static final List<EncoderEntry> ALL = List.of(
            // ---------------------------------------------------------------- reference ids merv builds
            EncoderEntry.builder("languagebind-video-noclass").family(LANGUAGEBIND).provenance(REFERENCE)
                    .hub("LanguageBind/LanguageBind_Video_merge").checkpointPrefix("vision_model.")
                    .config(LANGUAGEBIND_VIDEO_MERGE).defaultFrames(16).transform(LANGUAGEBIND_224)
                    .tokens(TokenPolicy.PENULTIMATE_LAYER_NO_CLS)
                    .embedDim(1024).tokensPerSlot(256).framesPerSlot(1).frameMultiple(8).build(),
            EncoderEntry.builder("dinov2-video-all-tokens").family(DINOV2).provenance(REFERENCE)
                    .hub("timm/vit_large_patch14_reg4_dinov2.lvd142m").checkpointPrefix("")
                    .config(DINOV2_L14_REG4).defaultFrames(16).transform(DINOV2_224)
                    .tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(1024).tokensPerSlot(256).framesPerSlot(1).frameMultiple(1).build(),
            EncoderEntry.builder("vivit-google-b-all-no-cls-16frames").family(VIVIT).provenance(REFERENCE)
                    .hub("google/vivit-b-16x2-kinetics400").checkpointPrefix("vivit.")
                    .config(VIVIT_B16X2).defaultFrames(32).transform(VIVIT_224)
                    .tokens(TokenPolicy.LAST_HIDDEN_NO_CLS_ALL_SLOTS)
                    .embedDim(768).tokensPerSlot(196).framesPerSlot(2).frameMultiple(32).build(),
            EncoderEntry.builder("vivit-google-b-all-no-cls").family(VIVIT).provenance(REFERENCE)
                    .hub("google/vivit-b-16x2-kinetics400").checkpointPrefix("vivit.")
                    .config(VIVIT_B16X2).defaultFrames(32).transform(VIVIT_224)
                    .tokens(TokenPolicy.LAST_HIDDEN_NO_CLS_EVERY_SECOND_SLOT)
                    .embedDim(768).tokensPerSlot(196).framesPerSlot(4).frameMultiple(32).build(),
            EncoderEntry.builder("siglip-vit-b16-224px-all-no-cls").family(SIGLIP).provenance(REFERENCE)
                    .hub("timm/ViT-B-16-SigLIP").checkpointPrefix("visual.trunk.")
                    .config(siglip(224, 16, 768, 12, 12, null)).defaultFrames(16).transform(SIGLIP_224)
                    .tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(768).tokensPerSlot(196).framesPerSlot(1).frameMultiple(1).build(),
            EncoderEntry.builder("hiera-base-plus-video").family(HIERA).provenance(REFERENCE)
                    .hub("facebook/hiera_base_plus_16x224.mae_k400_ft_k400").checkpointPrefix("")
                    .config(HIERA_BASE_PLUS_16X224).defaultFrames(32).transform(HIERA_224)
                    .tokens(TokenPolicy.LAST_STAGE_END)
                    .embedDim(896).tokensPerSlot(49).framesPerSlot(2).frameMultiple(16).build(),

            // ---------------------------------------------------------------- reference ids merv does not build
            unsupported("dinov2-video", DINOV2, "timm/vit_large_patch14_reg4_dinov2.lvd142m",
                    "not implemented in merv: the pooled feature of each frame (one token per frame)"),
            unsupported("dinov2-video-all-token-with-cls", DINOV2, "timm/vit_large_patch14_reg4_dinov2.lvd142m",
                    "not implemented in merv: every frame's CLS token placed before the patch tokens"),
            unsupported("dinov2-video-classemb-at-first", DINOV2, "timm/vit_large_patch14_reg4_dinov2.lvd142m",
                    "not implemented in merv: the clip's mean CLS token placed before the patch tokens"),
            unsupported("languagebind-video", LANGUAGEBIND, "LanguageBind/LanguageBind_Video_merge",
                    "not implemented in merv: all 257 tokens of each frame, CLS kept (no grid the pooling resamplers can read)"),
            unsupported("languagebind-video-averagetoken", LANGUAGEBIND, "LanguageBind/LanguageBind_Video_merge",
                    "not implemented in merv: the mean token of each frame (one token per frame)"),
            unsupported("languagebind-video-classemb", LANGUAGEBIND, "LanguageBind/LanguageBind_Video_merge",
                    "not implemented in merv: each frame's CLS token alone (one token per frame)"),
            unsupported("languagebind-video-classemb-at-first", LANGUAGEBIND, "LanguageBind/LanguageBind_Video_merge",
                    "not implemented in merv: the clip's mean CLS token placed before the patch tokens"),
            unsupported("vivit-google-b-cls-token", VIVIT, "google/vivit-b-16x2-kinetics400",
                    "not implemented in merv: the CLS token alone (one token per clip)"),
            unsupported("vivit-google-b-all-tokens", VIVIT, "google/vivit-b-16x2-kinetics400",
                    "not implemented in merv: all 3137 tokens, CLS kept (no grid the pooling resamplers can read)"),
            unsupported("vivit-google-b-classemb-at-first-16frames", VIVIT, "google/vivit-b-16x2-kinetics400",
                    "not implemented in merv: the reference returns every token (CLS kept) while reporting 16 x 196"),
            unsupported("siglip-vit-b16-224px", SIGLIP, "timm/ViT-B-16-SigLIP",
                    "not implemented in merv: the attention-pooled feature of each frame (one token per frame)"),
            unsupported("siglip-vit-b16-224px-all-tokens", SIGLIP, "timm/ViT-B-16-SigLIP",
                    "raises 'not implemented' in the reference (W20)"),
            unsupported("siglip-vit-b16-224px-classemb-at-first", SIGLIP, "timm/ViT-B-16-SigLIP",
                    "not implemented in merv: the mean patch token placed before the patch tokens"),
            unsupported("siglip-vit-b16-256px", SIGLIP, "timm/ViT-B-16-SigLIP-256",
                    "not implemented in merv: the attention-pooled feature of each frame (one token per frame);"
                            + " siglip-vit-b16-256px-all-no-cls gives the patch tokens"),
            unsupported("siglip-vit-b16-256px-all-tokens", SIGLIP, "timm/ViT-B-16-SigLIP-256",
                    "raises 'not implemented' in the reference (W20)"),
            unsupported("siglip-vit-b16-384px", SIGLIP, "timm/ViT-B-16-SigLIP-384",
                    "not implemented in merv: the attention-pooled feature of each frame (one token per frame);"
                            + " siglip-vit-b16-384px-all-no-cls gives the patch tokens"),
            unsupported("siglip-vit-b16-384px-all-tokens", SIGLIP, "timm/ViT-B-16-SigLIP-384",
                    "raises 'not implemented' in the reference (W20)"),
            unsupported("siglip-vit-so400m", SIGLIP, "timm/ViT-SO400M-14-SigLIP",
                    "not implemented in merv: the attention-pooled feature of each frame (one token per frame);"
                            + " siglip-vit-so400m-14-224px-all-no-cls gives the patch tokens"),
            unsupported("siglip-vit-so400m-all-tokens", SIGLIP, "timm/ViT-SO400M-14-SigLIP",
                    "raises 'not implemented' in the reference (W20)"),
            unsupported("siglip-vit-so400m-384px", SIGLIP, "timm/ViT-SO400M-14-SigLIP-384",
                    "not implemented in merv: the attention-pooled feature of each frame (one token per frame)"),
            unsupported("siglip-vit-so400m-384px-all-tokens", SIGLIP, "timm/ViT-SO400M-14-SigLIP-384",
                    "raises 'not implemented' in the reference (W20)"),
            unsupported("hiera-base-video", HIERA, "facebook/hiera_base_16x224.mae_k400_ft_k400",
                    "the reference prefixes its hub id with 'facebook/' twice and never loads it (W20)"),
            unsupported("hiera-base-video-noft", HIERA, "facebook/hiera_base_16x224.mae_k400",
                    "listed by the reference's Hiera module but not registered, and its hub id is prefixed with"
                            + " 'facebook/' twice (W20)"),
            unsupported("hiera-large-video", HIERA, "facebook/hiera_large_16x224.mae_k400_ft_k400",
                    "not implemented in merv: the Hiera-Large architecture (hiera_large_16x224) has no entry"),

            // ---------------------------------------------------------------- merv's extra SigLIP checkpoints
            // built at MERV's 224 px like every id; the checkpoint's position grid is resampled at load
            EncoderEntry.builder("siglip-vit-b16-256px-all-no-cls").family(SIGLIP).provenance(MERV_EXTRA)
                    .hub("timm/ViT-B-16-SigLIP-256").checkpointPrefix("visual.trunk.")
                    .config(siglip(256, 16, 768, 12, 12, null)).defaultFrames(16).transform(SIGLIP_224)
                    .tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(768).tokensPerSlot(196).framesPerSlot(1).frameMultiple(1).build(),
            EncoderEntry.builder("siglip-vit-b16-384px-all-no-cls").family(SIGLIP).provenance(MERV_EXTRA)
                    .hub("timm/ViT-B-16-SigLIP-384").checkpointPrefix("visual.trunk.")
                    .config(siglip(384, 16, 768, 12, 12, null)).defaultFrames(16).transform(SIGLIP_224)
                    .tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(768).tokensPerSlot(196).framesPerSlot(1).frameMultiple(1).build(),
            EncoderEntry.builder("siglip-vit-so400m-14-224px-all-no-cls").family(SIGLIP).provenance(MERV_EXTRA)
                    .hub("timm/ViT-SO400M-14-SigLIP").checkpointPrefix("visual.trunk.")
                    .config(siglip(224, 14, 1152, 27, 16, "3.7362")).defaultFrames(16).transform(SIGLIP_224)
                    .tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(1152).tokensPerSlot(256).framesPerSlot(1).frameMultiple(1).build(),

            // ---------------------------------------------------------------- merv-tiny's random encoders
            // the real families at the geometry of the merv-forward-tiny golden fixture (languagebind 42 px / 14,
            // dinov2 28 px / 14, hiera 64 px in 2-frame clips, siglip 32 px / 8); weights written by ./merv tiny-weights
            EncoderEntry.builder(Catalog.TINY_LANGUAGEBIND).family(LANGUAGEBIND).provenance(MERV_TINY).checkpointPrefix("")
                    .config("""
                            {"hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 2,
                             "image_size": 42, "patch_size": 14, "hidden_act": "quick_gelu", "num_frames": 2, "num_channels": 3,
                             "layer_norm_eps": 1e-05, "add_time_attn": true, "force_patch_dropout": 0.0, "attention_dropout": 0.0,
                             "model_type": "clip_vision_model"}""")
                    .defaultFrames(2).transform(LANGUAGEBIND_224.withSize(42)).tokens(TokenPolicy.PENULTIMATE_LAYER_NO_CLS)
                    .embedDim(24).tokensPerSlot(9).framesPerSlot(1).frameMultiple(2).build(),
            EncoderEntry.builder(Catalog.TINY_DINOV2).family(DINOV2).provenance(MERV_TINY).checkpointPrefix("")
                    .config("""
                            {"img_size": 28, "patch_size": 14, "embed_dim": 20, "depth": 3, "num_heads": 2, "init_values": 1e-05,
                             "reg_tokens": 4, "no_embed_class": true, "num_classes": 0}""")
                    .defaultFrames(2).transform(DINOV2_224.withSize(28)).tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(20).tokensPerSlot(4).framesPerSlot(1).frameMultiple(1).build(),
            EncoderEntry.builder(Catalog.TINY_HIERA).family(HIERA).provenance(MERV_TINY).checkpointPrefix("")
                    .config("""
                            {"input_size": [2, 64, 64], "embed_dim": 4, "num_heads": 1, "stages": [1, 1, 1, 1], "num_classes": 5,
                             "q_stride": [1, 2, 2], "mask_unit_size": [1, 8, 8], "patch_kernel": [3, 7, 7],
                             "patch_stride": [2, 4, 4], "patch_padding": [1, 3, 3], "sep_pos_embed": true, "q_pool": 3}""")
                    .defaultFrames(4).transform(HIERA_224.withSize(64)).tokens(TokenPolicy.LAST_STAGE_END)
                    .embedDim(32).tokensPerSlot(4).framesPerSlot(2).frameMultiple(2).build(),
            EncoderEntry.builder(Catalog.TINY_SIGLIP).family(SIGLIP).provenance(MERV_TINY).checkpointPrefix("")
                    .config("""
                            {"img_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 3, "num_heads": 2, "class_token": false,
                             "global_pool": "map", "num_classes": 0}""")
                    .defaultFrames(2).transform(SIGLIP_224.withSize(32)).tokens(TokenPolicy.PENULTIMATE_BLOCK_PATCHES)
                    .embedDim(16).tokensPerSlot(16).framesPerSlot(1).frameMultiple(1).build());

    private static EncoderEntry unsupported(String id, EncoderFamily family, String hub, String reason) {
        return EncoderEntry.builder(id).family(family).provenance(REFERENCE).hub(hub).unsupported(reason).build();
    }
}
