package dev.merv.encoders.languagebind;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * LanguageBind's own clip transform (docs/reference.md §2.3), unlike every other encoder's: the
 * whole clip is scaled by 1/255 and normalised (OpenAI CLIP mean/std for LanguageBind) first, then resized so
 * the short side is {@code size} with torch's bilinear interpolation ({@code align_corners=False},
 * no antialias, on the normalised floats), centre-cropped (offsets rounded half-to-even, as Python's
 * {@code round}) and optionally flipped horizontally. Output {@code [3, T, size, size]}.
 *
 * <p>W1: the reference flips with p = 0.5 at training <em>and</em> evaluation. Here the flip is
 * drawn only from the caller's random stream, i.e. in training ({@link Flip#TRAINING}, the default);
 * {@link Flip#PARITY} also flips in evaluation (a fresh random when none is given) to reproduce the
 * reference, and {@link Flip#NEVER} disables it.
 *
 * <p>For a frozen-feature cache the flip is a named variant ({@code "flip"} or {@code ""}): the seeded
 * training flip is known before the clip is transformed, so both sides can be cached; the parity flip
 * at evaluation draws from a fresh generator and cannot be named in advance.
 */
public final class LanguageBindTransform implements FrameTransform {

    /** When the random horizontal flip happens (W1). */
    public enum Flip { NEVER, TRAINING, PARITY }

    /** The variant name of a flipped clip. */
    public static final String FLIPPED = "flip";

    private final int size;
    private final Flip flip;
    private final float[] mean;
    private final float[] std;
    /** {@code ((v / 255f) - mean[c]) / std[c]} for every byte value v: the same float operations, done once. */
    private final float[][] normalised;

    /**
     * @param mean per-channel normalisation mean (LanguageBind: OpenAI CLIP's, from its catalog entry)
     * @param std per-channel normalisation standard deviation
     */
    public LanguageBindTransform(int size, Flip flip, float[] mean, float[] std) {
        if (size <= 0) {
            throw new IllegalArgumentException("LanguageBind transform: size must be positive, got " + size);
        }
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("LanguageBind transform: mean and std need 3 values");
        }
        this.size = size;
        this.flip = flip;
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

    @Override
    public int height() {
        return size;
    }

    @Override
    public int width() {
        return size;
    }

    public Flip flip() {
        return flip;
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    @Override
    public Layout layout() {
        return Layout.CTHW;
    }

    /** The flip {@link #apply} draws: one {@code nextDouble} of the stream in training (and always in parity mode). */
    @Override
    public Optional<String> variant(Random random) {
        return switch (flip) {
            case NEVER -> Optional.of("");
            case TRAINING -> Optional.of(random != null && random.nextDouble() < 0.5 ? FLIPPED : "");
            case PARITY -> random == null ? Optional.empty() : Optional.of(random.nextDouble() < 0.5 ? FLIPPED : "");
        };
    }

    @Override
    public List<String> variants() {
        return flip == Flip.NEVER ? List.of("") : List.of("", FLIPPED);
    }

    @Override
    public float[] applyVariant(List<Frame> frames, String variant) {
        if (!variants().contains(variant)) {
            throw new IllegalArgumentException(this + " has no random variant '" + variant + "'; it has " + variants());
        }
        return apply(frames, variant.equals(FLIPPED));
    }

    /** Size and normalisation; the flip policy is not part of it (the variant says whether a clip was flipped). */
    @Override
    public String identity() {
        return "languagebind-clip(size=" + size + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }

    @Override
    public float[] apply(List<Frame> frames, Random random) {
        boolean flipped = switch (flip) {
            case NEVER -> false;
            case TRAINING -> random != null && random.nextDouble() < 0.5;
            case PARITY -> (random != null ? random : new Random()).nextDouble() < 0.5;
        };
        return apply(frames, flipped);
    }

    private float[] apply(List<Frame> frames, boolean flipped) {
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("LanguageBind transform: empty clip");
        }
        int w = frames.get(0).width();
        int h = frames.get(0).height();
        for (Frame f : frames) {
            if (f.width() != w || f.height() != h) {
                throw new IllegalArgumentException("LanguageBind transform: frames of one clip differ in size (" + w + "x" + h
                        + " vs " + f.width() + "x" + f.height() + ")");
            }
        }
        // ShortSideScale: the long side is floor(long / short * size), as pytorchvideo computes it.
        int newW;
        int newH;
        if (w < h) {
            newW = size;
            newH = (int) Math.floor((double) h / w * size);
        } else {
            newH = size;
            newW = (int) Math.floor((double) w / h * size);
        }
        int top = (int) Math.rint((newH - size) / 2.0);
        int left = (int) Math.rint((newW - size) / 2.0);
        Axis ys = Axis.of(h, newH);
        Axis xs = Axis.of(w, newW);
        int t = frames.size();
        int plane = size * size;
        float[] out = new float[3 * t * plane];
        for (int c = 0; c < 3; c++) {
            // the whole clip is normalised before the resize; each pixel's normalised value is a table entry
            float[] lut = normalised[c];
            for (int ti = 0; ti < t; ti++) {
                byte[] rgb = frames.get(ti).rgb();
                int base = (c * t + ti) * plane;
                for (int oy = 0; oy < size; oy++) {
                    int y = oy + top;
                    int y0 = ys.index[y];
                    int y1 = y0 + ys.step[y];
                    float hl1 = ys.lambda[y];
                    float hl0 = 1f - hl1;
                    int r0 = y0 * w * 3 + c;
                    int r1 = y1 * w * 3 + c;
                    for (int ox = 0; ox < size; ox++) {
                        int x = ox + left;
                        int x0 = xs.index[x] * 3;
                        int x1 = x0 + xs.step[x] * 3;
                        float wl1 = xs.lambda[x];
                        float wl0 = 1f - wl1;
                        float v = hl0 * (wl0 * lut[rgb[r0 + x0] & 0xff] + wl1 * lut[rgb[r0 + x1] & 0xff])
                                + hl1 * (wl0 * lut[rgb[r1 + x0] & 0xff] + wl1 * lut[rgb[r1 + x1] & 0xff]);
                        int dst = flipped ? size - 1 - ox : ox;
                        out[base + oy * size + dst] = v;
                    }
                }
            }
        }
        return out;
    }

    /** torch's {@code upsample_bilinear2d} source indices and weights along one axis (float math as on CPU). */
    private record Axis(int[] index, int[] step, float[] lambda) {
        static Axis of(int in, int out) {
            float scale = (float) in / out;
            int[] idx = new int[out];
            int[] step = new int[out];
            float[] lam = new float[out];
            for (int o = 0; o < out; o++) {
                float real = scale * (o + 0.5f) - 0.5f;
                if (real < 0) {
                    real = 0;
                }
                int i = Math.min((int) Math.floor(real), in - 1);
                float l = Math.min(Math.max(real - i, 0f), 1f);
                idx[o] = i;
                step[o] = i < in - 1 ? 1 : 0;
                lam[o] = l;
            }
            return new Axis(idx, step, lam);
        }
    }

    @Override
    public String toString() {
        return "languagebind(" + size + ", flip " + flip + ")";
    }
}
