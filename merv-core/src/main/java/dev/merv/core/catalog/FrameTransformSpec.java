package dev.merv.core.catalog;

import java.util.List;
import java.util.Objects;

/**
 * An encoder's frame preprocessing as data: what {@code merv-encoders} builds the transform from.
 *
 * @param kind the pipeline
 * @param interpolation the resize filter
 * @param mean per-channel (RGB) normalisation mean, on pixels scaled to [0, 1]
 * @param std per-channel normalisation standard deviation
 * @param size the output side in pixels (the size the encoder is built for: 224 for every reference id)
 */
public record FrameTransformSpec(Kind kind, Interpolation interpolation, List<Float> mean, List<Float> std, int size) {

    /** The two pipelines MERV's encoders use. */
    public enum Kind {
        /**
         * {@code resize-naive}: each frame resized to exactly size x size ignoring the aspect ratio (PIL
         * resampling of the 8-bit RGB frame, antialiased when shrinking), scaled by 1/255, normalised.
         */
        RESIZE_NAIVE,
        /**
         * LanguageBind's clip pipeline: scaled by 1/255 and normalised first, then the short side resized
         * to size (torch interpolation on the floats, no antialias), centre crop, and a random horizontal
         * flip of the whole clip (W1); output channels before time.
         */
        CLIP_VIDEO
    }

    /** Resize filters. */
    public enum Interpolation { BILINEAR, BICUBIC }

    public FrameTransformSpec {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(interpolation, "interpolation");
        mean = List.copyOf(mean);
        std = List.copyOf(std);
        if (mean.size() != 3 || std.size() != 3) {
            throw new IllegalArgumentException("transform mean and std need 3 values (RGB), got " + mean + " / " + std);
        }
        if (size <= 0) {
            throw new IllegalArgumentException("transform size must be positive, got " + size);
        }
    }

    /** {@code resize-naive} at {@code size} with {@code interpolation}. */
    public static FrameTransformSpec resizeNaive(int size, Interpolation interpolation, List<Float> mean, List<Float> std) {
        return new FrameTransformSpec(Kind.RESIZE_NAIVE, interpolation, mean, std, size);
    }

    /** LanguageBind's clip pipeline at {@code size} (bilinear). */
    public static FrameTransformSpec clipVideo(int size, List<Float> mean, List<Float> std) {
        return new FrameTransformSpec(Kind.CLIP_VIDEO, Interpolation.BILINEAR, mean, std, size);
    }

    /** The same pipeline at another output side. */
    public FrameTransformSpec withSize(int newSize) {
        return new FrameTransformSpec(kind, interpolation, mean, std, newSize);
    }

    /** {@link #mean} as a float array. */
    public float[] meanArray() {
        return floats(mean);
    }

    /** {@link #std} as a float array. */
    public float[] stdArray() {
        return floats(std);
    }

    private static float[] floats(List<Float> v) {
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }
}
