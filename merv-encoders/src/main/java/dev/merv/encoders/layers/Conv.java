package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Arrays;

/**
 * PyTorch {@code nn.Conv2d} / {@code nn.Conv3d} ({@code weight [out, in, *kernel]}, optional
 * {@code bias [out]}).
 *
 * <p>fp32 runs DJL's convolution. DJL's convolution gives wrong values on bf16 CPU tensors (errors
 * of the order of the outputs themselves, measured here), so other dtypes take a bridged path: a
 * patchify conv (kernel = stride, no padding, the ViT/ViViT embeddings) is the equivalent
 * reshape + {@code aten::linear} in the input dtype; any other conv (Hiera's overlapping stem) is
 * computed in fp32 and cast back.
 */
public final class Conv extends Module {

    private final Param weight;
    private final Param bias;
    private final long[] stride;
    private final long[] padding;

    public Conv(int in, int out, long[] kernel, long[] stride, long[] padding, boolean bias) {
        if (kernel.length != 2 && kernel.length != 3) {
            throw new IllegalArgumentException("Conv: 2-d or 3-d kernels only, got " + Arrays.toString(kernel));
        }
        long[] shape = new long[2 + kernel.length];
        shape[0] = out;
        shape[1] = in;
        System.arraycopy(kernel, 0, shape, 2, kernel.length);
        this.weight = param("weight", shape);
        this.bias = bias ? param("bias", out) : null;
        this.stride = stride.clone();
        this.padding = padding.clone();
    }

    /** Kernel = stride, no padding: the patch / tubelet embedding of every ViT. */
    public static Conv patchify(int in, int out, long[] patch, boolean bias) {
        return new Conv(in, out, patch, patch, new long[patch.length], bias);
    }

    public NDArray forward(NDArray x) {
        ScalarType t = Torch.dtype(x);
        if (t != ScalarType.FLOAT32) {
            return isPatchify() ? patchifyLinear(x) : viaFloat32(x, t);
        }
        return djlConv(x, weight.get(), bias == null ? null : bias.get());
    }

    private boolean isPatchify() {
        long[] k = weight.shape().getShape();
        for (int i = 0; i < stride.length; i++) {
            if (k[i + 2] != stride[i] || padding[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Non-overlapping patches as one matmul: {@code [N, C, *grid*patch] -> [N, out, *grid]}. */
    private NDArray patchifyLinear(NDArray x) {
        long[] k = weight.shape().getShape();
        long out = k[0];
        long c = k[1];
        int d = stride.length;
        long n = x.getShape().get(0);
        long[] split = new long[2 + 2 * d];
        split[0] = n;
        split[1] = c;
        long[] grid = new long[d];
        long flat = c;
        for (int i = 0; i < d; i++) {
            grid[i] = x.getShape().get(2 + i) / k[2 + i];
            split[2 + 2 * i] = grid[i];
            split[3 + 2 * i] = k[2 + i];
            flat *= k[2 + i];
        }
        // [N, C, g0, p0, g1, p1, ...] -> [N, g0, g1, ..., C, p0, p1, ...]
        int[] perm = new int[2 + 2 * d];
        perm[0] = 0;
        for (int i = 0; i < d; i++) {
            perm[1 + i] = 2 + 2 * i;
            perm[2 + d + i] = 3 + 2 * i;
        }
        perm[1 + d] = 1;
        NDArray patches = x.reshape(split).transpose(perm).reshape(-1, flat);
        NDArray y = Torch.linear(patches, Scoped.into(weight.get().reshape(out, flat), patches), bias == null ? null : bias.get());
        long[] back = new long[2 + d];
        back[0] = n;
        System.arraycopy(grid, 0, back, 1, d);
        back[1 + d] = out;
        int[] toChannelsFirst = new int[2 + d];
        toChannelsFirst[0] = 0;
        toChannelsFirst[1] = 1 + d;
        for (int i = 0; i < d; i++) {
            toChannelsFirst[2 + i] = 1 + i;
        }
        return y.reshape(back).transpose(toChannelsFirst);
    }

    private NDArray viaFloat32(NDArray x, ScalarType t) {
        NDArray xf = Torch.to(x, ScalarType.FLOAT32);
        NDArray wf = Scoped.into(Torch.to(weight.get(), ScalarType.FLOAT32), x);
        NDArray bf = bias == null ? null : Scoped.into(Torch.to(bias.get(), ScalarType.FLOAT32), x);
        return Torch.to(djlConv(xf, wf, bf), t);
    }

    private NDArray djlConv(NDArray x, NDArray w, NDArray b) {
        Shape s = new Shape(stride);
        Shape p = new Shape(padding);
        Shape d = new Shape(ones(stride.length));
        if (stride.length == 2) {
            return ai.djl.nn.convolutional.Conv2d.conv2d(x, w, b, s, p, d, 1).singletonOrThrow();
        }
        return ai.djl.nn.convolutional.Conv3d.conv3d(x, w, b, s, p, d, 1).singletonOrThrow();
    }

    private static long[] ones(int n) {
        long[] o = new long[n];
        Arrays.fill(o, 1);
        return o;
    }

    public Param weight() {
        return weight;
    }
}
