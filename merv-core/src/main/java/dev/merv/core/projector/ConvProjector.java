package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code conv} (the reference's {@code ConvolutionalProjector}, Honeybee's C-Abstractor), per frame on
 * the {@code h x w} grid: a timm {@code RegStage} (3 RegNet bottlenecks C -> D, SiLU, LayerNorm2d),
 * adaptive 2-D average pool to {@code s x s}, a second {@code RegStage} D -> D, then the head D -> D.
 * Output {@code [B, T * s^2, D]}.
 *
 * <p>Each bottleneck (timm defaults: bottle ratio 1, group size 1 = depthwise 3x3, SE ratio 0.25 of the
 * block's input channels): {@code conv1} 1x1 + LN + SiLU, {@code conv2} depthwise 3x3 + LN + SiLU,
 * {@code se} (mean -> 1x1 conv -> SiLU -> 1x1 conv -> sigmoid gate), {@code conv3} 1x1 + LN, plus the
 * shortcut ({@code downsample} = 1x1 conv + LN when channels change, else identity), then SiLU. Convs
 * inside {@code ConvNormAct} have no bias; the SE convs do. LayerNorm2d eps 1e-5 (timm's
 * {@code LayerNormAct2d}). Parameter names: {@code convolution_pooling.0.b1.conv1.conv.weight}, ...,
 * {@code convolution_pooling.2.b3.se.fc2.bias}, {@code projector.*}.
 */
public final class ConvProjector extends HeadedProjector {

    static final int DEPTH = 3;

    private final Stage stage1;
    private final Stage stage2;
    private final int outSize;
    private final TokenGrid tokenGrid;

    public ConvProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int outSize, HeadType headType) {
        super(inDim, temporalIn, spatialIn, temporalIn, outSize * outSize);
        this.tokenGrid = grid(spatialIn);
        this.outSize = outSize;
        Stages stages = child("convolution_pooling", new Stages(inDim, llmDim));
        this.stage1 = stages.s1;
        this.stage2 = stages.s2;
        headUnderProjector(new ProjectionHead(headType, llmDim, llmDim));
    }

    private static final class Stages extends Module {
        final Stage s1;
        final Stage s2;

        Stages(int in, int out) {
            s1 = child("0", new Stage(in, out));
            s2 = child("2", new Stage(out, out));
        }
    }

    static final class Stage extends Module {
        final List<Bottleneck> blocks = new ArrayList<>();

        Stage(int in, int out) {
            for (int i = 0; i < DEPTH; i++) {
                blocks.add(child("b" + (i + 1), new Bottleneck(i == 0 ? in : out, out)));
            }
        }

        NDArray forward(NDArray x) {
            NDArray h = x;
            for (Bottleneck b : blocks) {
                NDArray y = b.forward(h);
                if (h != x) {
                    h.close();
                }
                h = y;
            }
            return h;
        }
    }

    /** A conv's parameters under its own name ({@code conv.weight}, {@code fc1.weight/bias}). */
    static final class ConvParams extends Module {
        final Param weight;
        final Param bias;

        ConvParams(int out, int inPerGroup, int kernel, boolean withBias) {
            weight = param("weight", out, inPerGroup, kernel, kernel);
            bias = withBias ? param("bias", out) : null;
        }
    }

    /** timm {@code ConvNormAct}: conv without bias, LayerNorm over channels, optional SiLU. */
    static final class ConvNormAct extends Module {
        final Param weight;
        final LayerNorm bn;
        final int groups;
        final int padding;
        final boolean act;

        ConvNormAct(int in, int out, int kernel, int groups, boolean act) {
            this.weight = child("conv", new ConvParams(out, in / groups, kernel, false)).weight;
            this.bn = child("bn", new LayerNorm(out, 1e-5f));
            this.groups = groups;
            this.padding = (kernel - 1) / 2;
            this.act = act;
        }

        NDArray forward(NDArray x) {
            NDArray n;
            try (NDArray c = conv2d(x, weight.get(), null, padding, groups)) {
                n = norm2d(bn, c);
            }
            if (!act) {
                return n;
            }
            try (n) {
                return Torch.silu(n);
            }
        }
    }

    /** SE block: {@code fc1}, {@code fc2} are 1x1 convs with bias. */
    static final class Se extends Module {
        final Param w1;
        final Param b1;
        final Param w2;
        final Param b2;

        Se(int channels, int reduced) {
            ConvParams fc1 = child("fc1", new ConvParams(reduced, channels, 1, true));
            ConvParams fc2 = child("fc2", new ConvParams(channels, reduced, 1, true));
            w1 = fc1.weight;
            b1 = fc1.bias;
            w2 = fc2.weight;
            b2 = fc2.bias;
        }

        NDArray forward(NDArray x) {
            long[] sh = x.getShape().getShape();
            // PyTorch's engine in DJL reduces one axis at a time: flatten the grid, then mean
            try (NDArray flat = x.reshape(sh[0], sh[1], sh[2] * sh[3]);
                    NDArray m1 = flat.mean(new int[] {2}, true);
                    NDArray mean = m1.reshape(sh[0], sh[1], 1, 1);
                    NDArray r = conv2d(mean, w1.get(), b1.get(), 0, 1);
                    NDArray a = Torch.silu(r);
                    NDArray e = conv2d(a, w2.get(), b2.get(), 0, 1);
                    NDArray gate = Torch.sigmoid(e)) {
                return x.mul(gate);
            }
        }
    }

    static final class Bottleneck extends Module {
        final ConvNormAct conv1;
        final ConvNormAct conv2;
        final Se se;
        final ConvNormAct conv3;
        final ConvNormAct downsample;

        Bottleneck(int in, int out) {
            conv1 = child("conv1", new ConvNormAct(in, out, 1, 1, true));
            conv2 = child("conv2", new ConvNormAct(out, out, 3, out, true));
            se = child("se", new Se(out, (int) Math.round(in * 0.25)));
            conv3 = child("conv3", new ConvNormAct(out, out, 1, 1, false));
            downsample = in != out ? child("downsample", new ConvNormAct(in, out, 1, 1, false)) : null;
        }

        NDArray forward(NDArray x) {
            try (NDArray a = conv1.forward(x); NDArray b = conv2.forward(a); NDArray c = se.forward(b);
                    NDArray d = conv3.forward(c)) {
                NDArray shortcut = downsample == null ? x : downsample.forward(x);
                try (NDArray sum = d.add(shortcut)) {
                    if (shortcut != x) {
                        shortcut.close();
                    }
                    return Torch.silu(sum);
                }
            }
        }

        void initialize(ReferenceInit init, NDManager manager) {
            init.conv(conv1.weight, null, manager);
            init.conv(conv2.weight, null, manager);
            init.conv(se.w1, se.b1, manager);
            init.conv(se.w2, se.b2, manager);
            init.conv(conv3.weight, null, manager);
            if (downsample != null) {
                init.conv(downsample.weight, null, manager);
            }
            for (ConvNormAct c : new ConvNormAct[] {conv1, conv2, conv3, downsample}) {
                if (c != null) {
                    ReferenceInit.constant(c.bn.weight(), 1f, manager);
                    ReferenceInit.constant(c.bn.bias(), 0f, manager);
                }
            }
        }
    }

    static NDArray conv2d(NDArray x, NDArray w, NDArray b, int padding, int groups) {
        return JniUtils.convolution((PtNDArray) x, (PtNDArray) w, (PtNDArray) b, new Shape(1, 1),
                new Shape(padding, padding), new Shape(1, 1), groups);
    }

    /** LayerNorm over the channel axis of {@code [N, C, H, W]}. */
    static NDArray norm2d(LayerNorm ln, NDArray x) {
        try (NDArray nhwc = x.transpose(0, 2, 3, 1); NDArray n = ln.forward(nhwc)) {
            return n.transpose(0, 3, 1, 2);
        }
    }

    @Override
    NDArray resample(NDArray x, long b) {
        try (NDArray grid = frameGrids(x, b, tokenGrid);
                NDArray s1 = stage1.forward(grid);
                NDArray pooled = AdaptivePool.avg(s1, outSize, outSize);
                NDArray s2 = stage2.forward(pooled)) {
            return flattenFrameGrids(s2, b);
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        for (Stage s : new Stage[] {stage1, stage2}) {
            for (Bottleneck bn : s.blocks) {
                bn.initialize(init, manager);
            }
        }
        super.initialize(init, manager);
    }
}
