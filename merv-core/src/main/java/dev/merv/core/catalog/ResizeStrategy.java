package dev.merv.core.catalog;

import java.util.Arrays;
import java.util.Locale;

/**
 * The reference's {@code image_resize_strategy}: how each PIL-based encoder's first resize is set up.
 * Which encoders accept which strategy is a property of their transform
 * ({@link FrameTransformSpec#unsupported(ResizeStrategy)}).
 */
public enum ResizeStrategy {
    /** Resize every frame to exactly the encoder's height x width, ignoring the aspect ratio (the default). */
    RESIZE_NAIVE("resize-naive"),
    /**
     * The checkpoint's own evaluation transform: the short side resized to the crop side divided by the
     * transform's crop fraction, then a centre crop.
     */
    RESIZE_CROP("resize-crop"),
    /**
     * Each frame padded to a square first (a symmetric border filled with the normalisation mean as 8-bit
     * values), then the checkpoint's evaluation transform as {@link #RESIZE_CROP}.
     */
    LETTERBOX("letterbox");

    private final String text;

    ResizeStrategy(String text) {
        this.text = text;
    }

    /** The reference's spelling. */
    public String text() {
        return text;
    }

    /** Parses the reference's spelling; fails naming the field and the accepted values. */
    public static ResizeStrategy parse(String s) {
        for (ResizeStrategy r : values()) {
            if (r.text.equals(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException("model.image_resize_strategy='" + s + "' is not a strategy; use one of "
                + Arrays.stream(values()).map(ResizeStrategy::text).toList());
    }

    @Override
    public String toString() {
        return text.toLowerCase(Locale.ROOT);
    }
}
