package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * {@code avg} (the reference's {@code AveragePoolingProjector}, Emu-2 style): each frame's {@code h x w}
 * grid is adaptively average-pooled to {@code s x s}, the head is applied, and frames are concatenated:
 * {@code [B, T * s^2, D]}.
 */
public final class AvgPoolProjector extends Projector {

    private final ProjectionHead head;
    private final int outSize;
    private final int side;

    public AvgPoolProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outSize, HeadType headType) {
        super(inDim, temporalIn, spatialIn);
        this.side = gridSide(spatialIn);
        this.outSize = outSize;
        this.head = child("projector", new ProjectionHead(headType, inDim, llmDim));
    }

    @Override
    public NDArray forward(NDArray x) {
        checkInput(x);
        long b = x.getShape().get(0);
        // B T (h w) C -> (B T) C h w
        try (NDArray grid = x.reshape(b * temporalIn, side, side, inDim).transpose(0, 3, 1, 2);
                NDArray pooled = AdaptivePool.avg(grid, outSize, outSize);
                NDArray tokens = pooled.transpose(0, 2, 3, 1).reshape(b, (long) temporalIn * outSize * outSize, inDim)) {
            return head.forward(tokens);
        }
    }

    @Override
    public ProjectionHead head() {
        return head;
    }

    @Override
    public int outputFrames() {
        return temporalIn;
    }

    @Override
    public int tokensPerFrame() {
        return outSize * outSize;
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        head.initialize(init, manager);
    }
}
