package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What every projector here shares: one {@link ProjectionHead}, a fixed output layout
 * ({@code outputFrames x tokensPerFrame}), the default init (only the head draws), and the usual forward
 * (resample the {@code [B, T, S, C]} features to {@code [B, L, C']} tokens, then the head). It also holds
 * the grid reshapes the pooling / convolution resamplers have in common, so they all read the row-major
 * {@code h x w} token grid the same way.
 */
abstract class HeadedProjector extends Projector {

    private final int outFrames;
    private final int tokensPerFrame;
    private ProjectionHead head;

    HeadedProjector(int inDim, int temporalIn, int spatialIn, int outFrames, int tokensPerFrame) {
        super(inDim, temporalIn, spatialIn);
        this.outFrames = outFrames;
        this.tokensPerFrame = tokensPerFrame;
    }

    /**
     * Sets the head without registering it; subclasses register it (or its inner module) themselves, at the
     * point of construction where the reference does, since registration order is parameter order.
     */
    final <H extends ProjectionHead> H useHead(H h) {
        if (head != null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": head already set");
        }
        head = h;
        return h;
    }

    /** Sets the head and registers it as the child {@code projector} (its place under every resampler). */
    final ProjectionHead headUnderProjector(ProjectionHead h) {
        return useHead(child("projector", h));
    }

    /** {@code [B, T, S, C]} to the tokens the head maps, {@code [B, L, C']}. */
    abstract NDArray resample(NDArray x, long batch);

    @Override
    public NDArray forward(NDArray x) {
        checkInput(x);
        long b = x.getShape().get(0);
        try (NDArray tokens = resample(x, b)) {
            return head.forward(tokens);
        }
    }

    @Override
    public NDArray resampleFrozen(NDArray x) {
        if (!hasFrozenResampler()) {
            return super.resampleFrozen(x);
        }
        checkInput(x);
        return resample(x, x.getShape().get(0));
    }

    @Override
    public NDArray forwardResampled(NDArray tokens) {
        if (!hasFrozenResampler()) {
            return super.forwardResampled(tokens);
        }
        return head.forward(tokens);
    }

    @Override
    public final ProjectionHead head() {
        return head;
    }

    @Override
    public final int outputFrames() {
        return outFrames;
    }

    @Override
    public final int tokensPerFrame() {
        return tokensPerFrame;
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        head.initialize(init, manager);
    }

    /** {@code B T (h w) C -> (B T) C h w}: one channels-first grid per temporal slot. */
    final NDArray frameGrids(NDArray x, long batch, TokenGrid g) {
        return x.reshape(batch * temporalIn, g.height(), g.width(), inDim).transpose(0, 3, 1, 2);
    }

    /** {@code B T (h w) C -> B C T h w}: one channels-first volume per sample. */
    final NDArray volume(NDArray x, long batch, TokenGrid g) {
        return x.reshape(batch, temporalIn, g.height(), g.width(), inDim).transpose(0, 4, 1, 2, 3);
    }

    /** {@code (B T) C s s -> B (T s s) C}, frame-major then row-major. */
    final NDArray flattenFrameGrids(NDArray grids, long batch) {
        long channels = grids.getShape().get(1);
        return grids.transpose(0, 2, 3, 1).reshape(batch, (long) outputLength(), channels);
    }

    /** {@code B C T' s s -> B (T' s s) C}, frame-major then row-major. */
    final NDArray flattenVolume(NDArray volume, long batch) {
        long channels = volume.getShape().get(1);
        return volume.transpose(0, 2, 3, 4, 1).reshape(batch, (long) outputLength(), channels);
    }
}
