package dev.merv.encoders.timm;

/**
 * A released timm ViT checkpoint a MERV encoder family ships as a preset: the timm model name, the hub
 * repo timm loads it from, and its architecture at the native size. The families' {@code Preset} enums
 * implement this, each constant holding one {@link Checkpoint}.
 */
public interface TimmPreset {

    /** The checkpoint this preset names. */
    Checkpoint checkpoint();

    default String timmName() {
        return checkpoint().timmName();
    }

    default String hubId() {
        return checkpoint().hubId();
    }

    /** The architecture at the checkpoint's native size. */
    default TimmVitConfig config() {
        return checkpoint().config();
    }

    /** Timm model name, hub repo id, architecture at the native size. */
    record Checkpoint(String timmName, String hubId, TimmVitConfig config) {}
}
