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
 * @param height the output height in pixels (the size the encoder is built for: 224 for every reference id)
 * @param width the output width in pixels (equal to the height for every reference id)
 * @param cropFraction {@link Kind#PIL_FRAMES} only: the checkpoint's own evaluation transform resizes the short
 *     side to {@code floor(side / cropFraction)} before its centre crop (224 / 256 for Hiera and ViViT, 1 for
 *     DINOv2 and SigLIP); what {@link ResizeStrategy#RESIZE_CROP} and {@link ResizeStrategy#LETTERBOX} run
 * @param letterbox {@link Kind#PIL_FRAMES} only: whether the reference can letterbox this encoder (it reads the
 *     padding colour from a normalisation mean that Hiera's configuration does not carry)
 */
public record FrameTransformSpec(Kind kind, Interpolation interpolation, List<Float> mean, List<Float> std, int height,
        int width, double cropFraction, boolean letterbox) {

    /** The two pipelines MERV's encoders use. */
    public enum Kind {
        /**
         * The PIL pipeline of SigLIP, DINOv2, ViViT and Hiera: the 8-bit RGB frame resized with PIL (antialiased
         * when shrinking) as the {@link ResizeStrategy} says, centre-cropped, scaled by 1/255, normalised.
         */
        PIL_FRAMES,
        /**
         * LanguageBind's clip pipeline: scaled by 1/255 and normalised first, then the short side resized
         * to size (torch interpolation on the floats, no antialias), centre crop, and a random horizontal
         * flip of the whole clip (W1); output channels before time. Square, {@code resize-naive} only.
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
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("transform size must be positive, got " + height + "x" + width);
        }
        if (kind == Kind.CLIP_VIDEO && height != width) {
            throw new IllegalArgumentException("LanguageBind's clip transform centre-crops a square, got " + height + "x" + width);
        }
        if (!(cropFraction > 0 && cropFraction <= 1)) {
            throw new IllegalArgumentException("transform crop fraction must be in (0, 1], got " + cropFraction);
        }
    }

    /**
     * The PIL per-frame pipeline at {@code size x size}.
     *
     * @param cropFraction crop side / short side of the checkpoint's evaluation transform
     * @param letterbox whether the reference can letterbox this encoder
     */
    public static FrameTransformSpec pilFrames(int size, Interpolation interpolation, List<Float> mean, List<Float> std,
            double cropFraction, boolean letterbox) {
        return new FrameTransformSpec(Kind.PIL_FRAMES, interpolation, mean, std, size, size, cropFraction, letterbox);
    }

    /** LanguageBind's clip pipeline at {@code size} (bilinear). */
    public static FrameTransformSpec clipVideo(int size, List<Float> mean, List<Float> std) {
        return new FrameTransformSpec(Kind.CLIP_VIDEO, Interpolation.BILINEAR, mean, std, size, size, 1.0, false);
    }

    /** The same pipeline at another square output side. */
    public FrameTransformSpec withSize(int side) {
        return withSize(side, side);
    }

    /** The same pipeline at another output size. */
    public FrameTransformSpec withSize(int newHeight, int newWidth) {
        return new FrameTransformSpec(kind, interpolation, mean, std, newHeight, newWidth, cropFraction, letterbox);
    }

    /** Whether the output is square. */
    public boolean square() {
        return height == width;
    }

    /**
     * Null when {@code strategy} can run on this transform, else why not (as the reference: LanguageBind asserts
     * {@code resize-naive}; Hiera's letterbox fails for want of a normalisation mean; the crops are square).
     */
    public String unsupported(ResizeStrategy strategy) {
        if (strategy == ResizeStrategy.RESIZE_NAIVE) {
            return null;
        }
        if (kind == Kind.CLIP_VIDEO) {
            return "LanguageBind's transform supports resize-naive only (the reference asserts it)";
        }
        if (strategy == ResizeStrategy.LETTERBOX && !letterbox) {
            return "the reference cannot letterbox it (its configuration has no normalisation mean to pad with)";
        }
        if (!square()) {
            return strategy.text() + " centre-crops a square, but this encoder takes " + height + "x" + width;
        }
        return null;
    }

    /** The short side {@link ResizeStrategy#RESIZE_CROP} resizes to: {@code floor(height / cropFraction)}. */
    public int cropResizeShortSide() {
        return (int) Math.floor(height / cropFraction);
    }

    /**
     * The letterbox border colour: each channel's mean as the reference computes it, {@code int(mean * 255)}
     * (truncated).
     */
    public int[] letterboxFill() {
        int[] out = new int[3];
        for (int c = 0; c < 3; c++) {
            out[c] = (int) (mean.get(c).doubleValue() * 255);
        }
        return out;
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
