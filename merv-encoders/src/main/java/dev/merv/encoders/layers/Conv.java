package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import java.util.Arrays;

/**
 * PyTorch {@code nn.Conv2d} / {@code nn.Conv3d} ({@code weight [out, in, *kernel]}, optional
 * {@code bias [out]}), run through DJL's dtype-free convolution so it serves fp32 and bf16 alike.
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
        NDArray b = bias == null ? null : bias.get();
        Shape s = new Shape(stride);
        Shape p = new Shape(padding);
        Shape d = new Shape(ones(stride.length));
        if (stride.length == 2) {
            return ai.djl.nn.convolutional.Conv2d.conv2d(x, weight.get(), b, s, p, d, 1).singletonOrThrow();
        }
        return ai.djl.nn.convolutional.Conv3d.conv3d(x, weight.get(), b, s, p, d, 1).singletonOrThrow();
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
