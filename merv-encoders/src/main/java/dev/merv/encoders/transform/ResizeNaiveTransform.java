package dev.merv.encoders.transform;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * MERV's {@code resize-naive} frame transform for the PIL-based encoders (SigLIP, DINOv2, ViViT,
 * Hiera): each frame is resized to exactly {@code height x width} ignoring aspect ratio with the
 * encoder's PIL filter (antialiased on 8-bit RGB), the centre crop is then a no-op, pixels are
 * scaled by 1/255 and normalised per channel. Output {@code [T, 3, height, width]}.
 */
public final class ResizeNaiveTransform implements FrameTransform {

    private final int height;
    private final int width;
    private final Filter filter;
    private final float[] mean;
    private final float[] std;
    private final PixelNormalize normalise;

    public ResizeNaiveTransform(int height, int width, Filter filter, float[] mean, float[] std) {
        if (height <= 0 || width <= 0 || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("resize-naive: height and width must be positive and mean/std have 3 values");
        }
        this.height = height;
        this.width = width;
        this.filter = filter;
        this.mean = mean.clone();
        this.std = std.clone();
        this.normalise = new PixelNormalize(this.mean, this.std);
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int width() {
        return width;
    }

    public Filter filter() {
        return filter;
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    @Override
    public float[] apply(List<Frame> frames, Random random) {
        int plane = height * width;
        float[] out = new float[frames.size() * 3 * plane];
        for (int t = 0; t < frames.size(); t++) {
            normalise.chw(ResizedFrames.resize(frames.get(t), width, height, filter), plane, out, t * 3 * plane);
        }
        return out;
    }

    @Override
    public String identity() {
        // a square size keeps the name feature caches were keyed with before inputs could be non-square
        String size = height == width ? "size=" + height : "height=" + height + ", width=" + width;
        return "resize-naive(" + size + ", filter=" + filter + ", mean=" + Arrays.toString(mean) + ", std="
                + Arrays.toString(std) + ")";
    }

    @Override
    public String toString() {
        return "resize-naive(" + height + "x" + width + ", " + filter + ")";
    }
}
