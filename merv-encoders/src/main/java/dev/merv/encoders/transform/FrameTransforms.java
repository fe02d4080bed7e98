package dev.merv.encoders.transform;

import dev.merv.core.catalog.FrameTransformSpec;
import dev.merv.core.catalog.ResizeStrategy;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.languagebind.LanguageBindTransform;

/** Builds the frame transform a catalog entry describes. */
public final class FrameTransforms {

    private FrameTransforms() {}

    /**
     * {@code spec} at {@code height x width} with {@code resize-naive}; {@code flip} applies to LanguageBind's clip
     * pipeline only (W1: by default it flips in training only).
     */
    public static FrameTransform of(FrameTransformSpec spec, int height, int width, LanguageBindTransform.Flip flip) {
        return of(spec, height, width, flip, ResizeStrategy.RESIZE_NAIVE);
    }

    /**
     * {@code spec} at {@code height x width} with the given {@code image_resize_strategy}; fails naming the strategy
     * and the shape when the reference cannot run it on this transform ({@link FrameTransformSpec#unsupported}).
     */
    public static FrameTransform of(FrameTransformSpec spec, int height, int width, LanguageBindTransform.Flip flip,
            ResizeStrategy strategy) {
        FrameTransformSpec s = spec.withSize(height, width);
        String why = s.unsupported(strategy);
        if (why != null) {
            throw new IllegalArgumentException("model.image_resize_strategy='" + strategy.text() + "': " + why);
        }
        Filter filter = switch (s.interpolation()) {
            case BILINEAR -> Filter.BILINEAR;
            case BICUBIC -> Filter.BICUBIC;
        };
        return switch (s.kind()) {
            case CLIP_VIDEO -> new LanguageBindTransform(height, flip, s.meanArray(), s.stdArray());
            case PIL_FRAMES -> switch (strategy) {
                case RESIZE_NAIVE -> new ResizeNaiveTransform(height, width, filter, s.meanArray(), s.stdArray());
                case RESIZE_CROP -> new ResizeCropTransform(height, s.cropResizeShortSide(), filter, s.meanArray(), s.stdArray(),
                        null);
                case LETTERBOX -> new ResizeCropTransform(height, s.cropResizeShortSide(), filter, s.meanArray(), s.stdArray(),
                        s.letterboxFill());
            };
        };
    }
}
