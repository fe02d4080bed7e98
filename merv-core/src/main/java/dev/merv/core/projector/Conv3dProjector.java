package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * {@code 3dconv} (the reference's {@code Convolutional3DProjector}): {@code Conv3d(C -> D, kernel 3,
 * stride 1, padding 1)} over {@code [B, C, T, h, w]}, adaptive 3-D average pool to {@code (T/N, s, s)},
 * flatten, head {@code D -> D}. Parameters {@code convolution_pooling.0.weight/bias}, {@code projector.*}.
 */
public final class Conv3dProjector extends HeadedProjector {

    private final Param weight;
    private final Param bias;
    private final int outFrames;
    private final int outSize;
    private final TokenGrid tokenGrid;

    public Conv3dProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outFrames, int outSize,
            HeadType headType) {
        super(inDim, temporalIn, spatialIn, outFrames, outSize * outSize);
        if (outFrames < 1) {
            throw new IllegalArgumentException("3dconv: output frames " + outFrames + " < 1");
        }
        this.tokenGrid = grid(spatialIn);
        this.outFrames = outFrames;
        this.outSize = outSize;
        ConvHolder conv = child("convolution_pooling", new ConvHolder(inDim, llmDim));
        this.weight = conv.weight;
        this.bias = conv.bias;
        headUnderProjector(new ProjectionHead(headType, llmDim, llmDim));
    }

    /** {@code nn.Sequential(Conv3d, AdaptiveAvgPool3d)}: only index 0 holds parameters. */
    private static final class ConvHolder extends Module {
        final Param weight;
        final Param bias;

        ConvHolder(int in, int out) {
            Layer l = child("0", new Layer(in, out));
            weight = l.weight;
            bias = l.bias;
        }
    }

    private static final class Layer extends Module {
        final Param weight;
        final Param bias;

        Layer(int in, int out) {
            weight = param("weight", out, in, 3, 3, 3);
            bias = param("bias", out);
        }
    }

    @Override
    NDArray resample(NDArray x, long b) {
        try (NDArray grid = volume(x, b, tokenGrid);
                NDArray conv = JniUtils.convolution((PtNDArray) grid, (PtNDArray) weight.get(), (PtNDArray) bias.get(),
                        new Shape(1, 1, 1), new Shape(1, 1, 1), new Shape(1, 1, 1), 1);
                NDArray pooled = AdaptivePool.avg(conv, outFrames, outSize, outSize)) {
            return flattenVolume(pooled, b);
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        init.conv(weight, bias, manager);
        super.initialize(init, manager);
    }
}
