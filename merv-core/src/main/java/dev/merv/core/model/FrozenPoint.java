package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import dev.merv.core.projector.Projector;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * The deepest point of one encoder's path through MERV that never trains: after the projector's
 * parameter-free token resampler ({@code avg}, {@code 3davg}), else the encoder's output. For a given
 * clip, encoder weights and dtype the value there never changes, so a frozen-feature cache stores it
 * and {@link Merv} takes it instead of running the encoder (and resampler) again.
 *
 * <p>{@link #compute} is the one computation of that value: {@link Merv} runs it for rows that are not
 * cached and a cache build runs it for whole datasets, so a cached value is bitwise what the model
 * computes. The value is in the dtype the projector computes in ({@link Merv} casts the encoder's
 * output to it before the projector, as without a cache).
 */
public final class FrozenPoint {

    /** Where the value is taken. */
    public enum Kind {
        /** After the parameter-free resampler: {@code [L, C]} per row. */
        RESAMPLED,
        /** The encoder's output, {@code [T', N, C]} per row (the projector's first step trains). */
        ENCODER_OUTPUT
    }

    /** One computation's result: per row the value and, when asked for, the mean encoder token. */
    public record Values(NDArray value, NDArray classKeys) implements AutoCloseable {
        @Override
        public void close() {
            value.close();
            if (classKeys != null) {
                classKeys.close();
            }
        }
    }

    private final VideoEncoder encoder;
    private final Projector projector;
    private final Kind kind;

    /** @param projector the encoder's projector (only its resampler is used here) */
    public FrozenPoint(VideoEncoder encoder, Projector projector) {
        this.encoder = encoder;
        this.projector = projector;
        this.kind = projector.hasFrozenResampler() ? Kind.RESAMPLED : Kind.ENCODER_OUTPUT;
    }

    public Kind kind() {
        return kind;
    }

    public VideoEncoder encoder() {
        return encoder;
    }

    /** The shape of one row's value. */
    public long[] rowShape() {
        return kind == Kind.RESAMPLED ? new long[] {projector.outputLength(), encoder.embedDim()}
                : new long[] {encoder.temporalResolution(), encoder.spatialResolution(), encoder.embedDim()};
    }

    /** What the point is, for cache keys: the kind and the resampler's geometry. */
    public String describe() {
        if (kind == Kind.ENCODER_OUTPUT) {
            return "encoder-output[" + encoder.temporalResolution() + "," + encoder.spatialResolution() + ","
                    + encoder.embedDim() + "]";
        }
        return "resampled:" + projector.getClass().getSimpleName() + "[" + encoder.temporalResolution() + ","
                + encoder.spatialResolution() + "," + encoder.embedDim() + "->" + projector.outputFrames() + "x"
                + projector.tokensPerFrame() + "]";
    }

    /**
     * The values of {@code pixels}' rows: the encoder, the cast to {@code dtype} (null: the encoder's own),
     * the resampler where there is one; with {@code classKeys} also each row's mean encoder token
     * ({@link #meanToken}) after the cast. Runs without autograd; the arrays belong to the pixels' manager.
     */
    public Values compute(NDArray pixels, ScalarType dtype, boolean classKeys) {
        try (var ng = Torch.noGrad()) {
            NDArray f = encoder.encode(pixels);
            NDArray g = f;
            if (dtype != null && Torch.dtype(f) != dtype) {
                g = Torch.to(f, dtype);
                f.close();
            }
            NDArray keys = classKeys ? meanToken(g) : null;
            if (kind == Kind.ENCODER_OUTPUT) {
                return new Values(g, keys);
            }
            NDArray v = projector.resampleFrozen(g);
            g.close();
            return new Values(v, keys);
        }
    }

    /**
     * Each row's mean encoder token, {@code [B, T', N, C] -> [B, C]}: what the class-key fusion projects in
     * place of a class embedding (the encoders used drop CLS).
     */
    public static NDArray meanToken(NDArray features) {
        long[] sh = features.getShape().getShape();
        try (NDArray flat = features.reshape(sh[0], sh[1] * sh[2], sh[3])) {
            return flat.mean(new int[] {1});
        }
    }
}
