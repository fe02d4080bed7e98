package dev.merv.core.model;

import java.util.List;
import java.util.Random;

/**
 * An encoder's preprocessing: decoded frames in, the encoder's float input out. Runs on loader
 * threads (plain Java, no tensors), so it must be thread-safe.
 */
public interface FrameTransform {

    /** Output height in pixels (224 for every registered encoder). */
    int height();

    /** Output width in pixels (equal to {@link #height()} except for encoders built for a non-square input). */
    int width();

    /**
     * Transforms a clip of {@code frames.size()} frames into a float array laid out as
     * {@link #layout()} says, {@code frames.size() * 3 * height() * width()} values.
     *
     * @param random the sample's random stream (LanguageBind's training flip, W1); null in evaluation
     */
    float[] apply(List<Frame> frames, Random random);

    /** How {@link #apply}'s output is laid out: {@code TCHW} for most encoders, {@code CTHW} for LanguageBind. */
    default Layout layout() {
        return Layout.TCHW;
    }

    /** Values one transformed clip of {@code frames} frames holds. */
    default long values(int frames) {
        return (long) frames * 3 * height() * width();
    }

    /** Memory layout of a transformed clip. */
    enum Layout { TCHW, CTHW }
}
