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
public final class Conv3dProjector extends Projector {

    private final ProjectionHead head;
    private final Param weight;
    private final Param bias;
    private final int llmDim;
    private final int outFrames;
    private final int outSize;
    private final int side;

    public Conv3dProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outFrames, int outSize,
            HeadType headType) {
        super(inDim, temporalIn, spatialIn);
        if (outFrames < 1) {
            throw new IllegalArgumentException("3dconv: output frames " + outFrames + " < 1");
        }
        this.side = gridSide(spatialIn);
        this.llmDim = llmDim;
        this.outFrames = outFrames;
        this.outSize = outSize;
        ConvHolder conv = child("convolution_pooling", new ConvHolder(inDim, llmDim));
        this.weight = conv.weight;
        this.bias = conv.bias;
        this.head = child("projector", new ProjectionHead(headType, llmDim, llmDim));
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
    public NDArray forward(NDArray x) {
        checkInput(x);
        long b = x.getShape().get(0);
        try (NDArray grid = x.reshape(b, temporalIn, side, side, inDim).transpose(0, 4, 1, 2, 3);
                NDArray conv = JniUtils.convolution((PtNDArray) grid, (PtNDArray) weight.get(), (PtNDArray) bias.get(),
                        new Shape(1, 1, 1), new Shape(1, 1, 1), new Shape(1, 1, 1), 1);
                NDArray pooled = AdaptivePool.avg(conv, outFrames, outSize, outSize);
                NDArray tokens = pooled.transpose(0, 2, 3, 4, 1).reshape(b, (long) outFrames * outSize * outSize, llmDim)) {
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
        init.conv(weight, bias, manager);
        head.initialize(init, manager);
    }
}
