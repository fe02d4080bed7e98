package dev.merv.core.model;

import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * An encoder's preprocessing: decoded frames in, the encoder's float input out. Runs on loader
 * threads (plain Java, no tensors), so it must be thread-safe.
 *
 * <p>A frozen-feature cache keys an encoder's output on what decides this transform's output: the
 * frames, {@link #identity()} and, for a transform with random choices, the {@link #variant} a random
 * stream picks. A transform whose random choices are one of a few named variants (LanguageBind's
 * flip) can be cached per variant; one whose randomness cannot be named in advance cannot be cached.
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

    /**
     * The named random choice {@link #apply} makes with {@code random}, drawing from a stream in the
     * same state exactly what apply draws: {@code apply(frames, random)} equals
     * {@code applyVariant(frames, variant(copy of random))}. {@code ""} for a transform without random
     * choices; empty when the choice cannot be known before apply runs (fresh, unseeded randomness), so
     * the output cannot be cached.
     *
     * @param random the stream apply would get (null in evaluation)
     */
    default Optional<String> variant(Random random) {
        return Optional.of("");
    }

    /** Every name {@link #variant} can return ({@code ""} first). */
    default List<String> variants() {
        return List.of("");
    }

    /** {@link #apply} with its random choice fixed to {@code variant}, one of {@link #variants()}. */
    default float[] applyVariant(List<Frame> frames, String variant) {
        if (!variant.isEmpty()) {
            throw new IllegalArgumentException(this + " has no random variant '" + variant + "'");
        }
        return apply(frames, (Random) null);
    }

    /**
     * Everything besides the frames and the variant that decides the output (size, filter,
     * normalisation), as text: two transforms with the same identity give the same output.
     */
    default String identity() {
        return toString();
    }

    /** Memory layout of a transformed clip. */
    enum Layout { TCHW, CTHW }
}
