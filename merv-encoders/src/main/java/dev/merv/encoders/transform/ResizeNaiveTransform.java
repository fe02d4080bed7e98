package dev.merv.encoders.transform;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * MERV's {@code resize-naive} frame transform for the PIL-based encoders (SigLIP, DINOv2, ViViT,
 * Hiera): each frame is resized to exactly {@code size x size} ignoring aspect ratio with the
 * encoder's PIL filter (antialiased on 8-bit RGB), the centre crop is then a no-op, pixels are
 * scaled by 1/255 and normalised per channel. Output {@code [T, 3, size, size]}.
 */
public final class ResizeNaiveTransform implements FrameTransform {

    private final int size;
    private final Filter filter;
    private final float[] mean;
    private final float[] std;
    /** {@code ((v / 255f) - mean[c]) / std[c]} for every byte value v: the same float operations, done once. */
    private final float[][] normalised;

    public ResizeNaiveTransform(int size, Filter filter, float[] mean, float[] std) {
        if (size <= 0 || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("resize-naive: size must be positive and mean/std have 3 values");
        }
        this.size = size;
        this.filter = filter;
        this.mean = mean.clone();
        this.std = std.clone();
        this.normalised = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float x = v / 255f;
                normalised[c][v] = (x - this.mean[c]) / this.std[c];
            }
        }
    }

    public ResizeNaiveTransform withSize(int newSize) {
        return new ResizeNaiveTransform(newSize, filter, mean, std);
    }

    @Override
    public int size() {
        return size;
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
        int plane = size * size;
        float[] out = new float[frames.size() * 3 * plane];
        for (int t = 0; t < frames.size(); t++) {
            byte[] px = ResizedFrames.resize(frames.get(t), size, filter);
            int base = t * 3 * plane;
            for (int c = 0; c < 3; c++) {
                float[] lut = normalised[c];
                int o = base + c * plane;
                for (int i = 0; i < plane; i++) {
                    out[o + i] = lut[px[i * 3 + c] & 0xff];
                }
            }
        }
        return out;
    }

    @Override
    public String identity() {
        return "resize-naive(size=" + size + ", filter=" + filter + ", mean=" + Arrays.toString(mean) + ", std="
                + Arrays.toString(std) + ")";
    }

    @Override
    public String toString() {
        return "resize-naive(" + size + ", " + filter + ")";
    }
}
