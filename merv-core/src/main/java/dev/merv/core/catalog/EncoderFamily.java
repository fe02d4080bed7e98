package dev.merv.core.catalog;

/** The video-encoder architectures merv implements (one per module package in {@code merv-encoders}). */
public enum EncoderFamily {
    /** LanguageBind's video tower (CLIP ViT with temporal attention), HF {@code CLIPVisionConfig} keys. */
    LANGUAGEBIND,
    /** timm DINOv2 with registers, timm {@code VisionTransformer} kwargs. */
    DINOV2,
    /** HF ViViT, HF {@code VivitConfig} keys. */
    VIVIT,
    /** timm SigLIP image towers, timm {@code VisionTransformer} kwargs. */
    SIGLIP,
    /** The hiera package's video Hiera, its constructor kwargs. */
    HIERA
}
