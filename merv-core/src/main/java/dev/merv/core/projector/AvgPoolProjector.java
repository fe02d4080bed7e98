package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * {@code avg} (the reference's {@code AveragePoolingProjector}, Emu-2 style): each frame's {@code h x w}
 * grid is adaptively average-pooled to {@code s x s}, the head is applied, and frames are concatenated:
 * {@code [B, T * s^2, D]}.
 */
public final class AvgPoolProjector extends HeadedProjector {

    private final int outSize;
    private final TokenGrid tokenGrid;

    public AvgPoolProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outSize, HeadType headType) {
        super(inDim, temporalIn, spatialIn, temporalIn, outSize * outSize);
        this.tokenGrid = grid(spatialIn);
        this.outSize = outSize;
        headUnderProjector(new ProjectionHead(headType, inDim, llmDim));
    }

    @Override
    public boolean hasFrozenResampler() {
        return true;
    }

    @Override
    NDArray resample(NDArray x, long b) {
        try (NDArray grid = frameGrids(x, b, tokenGrid); NDArray pooled = AdaptivePool.avg(grid, outSize, outSize)) {
            return flattenFrameGrids(pooled, b);
        }
    }
}
