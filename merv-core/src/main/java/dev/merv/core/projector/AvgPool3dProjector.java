package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * {@code 3davg} (the reference's {@code AveragePooling3DProjector}, used by merv-base): view the
 * features as {@code [B, C, T, h, w]}, adaptive 3-D average pool to {@code (T/N, s, s)}, flatten
 * frame-major then row-major to {@code [B, T/N * s^2, C]}, then the head. Parameters: the head under
 * {@code projector} ({@code projector.projector.weight} for a linear head).
 */
public final class AvgPool3dProjector extends Projector {

    private final ProjectionHead head;
    private final int outFrames;
    private final int outSize;
    private final int side;

    public AvgPool3dProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outFrames, int outSize,
            HeadType headType) {
        super(inDim, temporalIn, spatialIn);
        if (outFrames < 1) {
            throw new IllegalArgumentException("3davg: output frames " + outFrames + " < 1 (temporal resolution "
                    + temporalIn + " divided by the frame factor)");
        }
        this.side = gridSide(spatialIn);
        this.outFrames = outFrames;
        this.outSize = outSize;
        this.head = child("projector", new ProjectionHead(headType, inDim, llmDim));
    }

    @Override
    public NDArray forward(NDArray x) {
        checkInput(x);
        long b = x.getShape().get(0);
        // B T (h w) C -> B C T h w
        try (NDArray grid = x.reshape(b, temporalIn, side, side, inDim).transpose(0, 4, 1, 2, 3);
                NDArray pooled = AdaptivePool.avg(grid, outFrames, outSize, outSize);
                NDArray tokens = pooled.transpose(0, 2, 3, 4, 1).reshape(b, (long) outFrames * outSize * outSize, inDim)) {
            return head.forward(tokens);
        }
    }

    @Override
    public ProjectionHead head() {
        return head;
    }

    @Override
    public int outputFrames() {
        return outFrames;
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
