package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * {@code 3davg} (the reference's {@code AveragePooling3DProjector}, used by merv-base): view the
 * features as {@code [B, C, T, h, w]} ({@link TokenGrid}: {@code h = floor(sqrt(S))}, {@code w = S / h}),
 * adaptive 3-D average pool to {@code (T/N, s, s)}, flatten
 * frame-major then row-major to {@code [B, T/N * s^2, C]}, then the head. Parameters: the head under
 * {@code projector} ({@code projector.projector.weight} for a linear head).
 */
public final class AvgPool3dProjector extends HeadedProjector {

    private final int outFrames;
    private final int outSize;
    private final TokenGrid tokenGrid;

    public AvgPool3dProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outFrames, int outSize,
            HeadType headType) {
        super(inDim, temporalIn, spatialIn, outFrames, outSize * outSize);
        if (outFrames < 1) {
            throw new IllegalArgumentException("3davg: output frames " + outFrames + " < 1 (temporal resolution "
                    + temporalIn + " divided by the frame factor)");
        }
        this.tokenGrid = grid(spatialIn);
        this.outFrames = outFrames;
        this.outSize = outSize;
        headUnderProjector(new ProjectionHead(headType, inDim, llmDim));
    }

    @Override
    public boolean hasFrozenResampler() {
        return true;
    }

    @Override
    NDArray resample(NDArray x, long b) {
        try (NDArray grid = volume(x, b, tokenGrid); NDArray pooled = AdaptivePool.avg(grid, outFrames, outSize, outSize)) {
            return flattenVolume(pooled, b);
        }
    }
}
