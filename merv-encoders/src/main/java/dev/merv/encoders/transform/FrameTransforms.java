package dev.merv.encoders.transform;

import dev.merv.core.catalog.FrameTransformSpec;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.languagebind.LanguageBindTransform;

/** Builds the frame transform a catalog entry describes. */
public final class FrameTransforms {

    private FrameTransforms() {}

    /**
     * {@code spec} at output side {@code size}; {@code flip} applies to LanguageBind's clip pipeline only
     * (W1: by default it flips in training only).
     */
    public static FrameTransform of(FrameTransformSpec spec, int size, LanguageBindTransform.Flip flip) {
        Filter filter = switch (spec.interpolation()) {
            case BILINEAR -> Filter.BILINEAR;
            case BICUBIC -> Filter.BICUBIC;
        };
        return switch (spec.kind()) {
            case RESIZE_NAIVE -> new ResizeNaiveTransform(size, filter, spec.meanArray(), spec.stdArray());
            case CLIP_VIDEO -> new LanguageBindTransform(size, flip, spec.meanArray(), spec.stdArray());
        };
    }
}
