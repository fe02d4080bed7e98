package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Adaptive average pooling exactly as PyTorch's {@code AdaptiveAvgPool2d/3d}: per axis, output index
 * {@code i} averages input {@code [floor(i*I/O), ceil((i+1)*I/O))}, so bins overlap when
 * {@code I % O != 0} (14 -> 8 gives [0,2),[1,4),[3,6),...). It is libtorch's own kernel (reached through
 * DJL's JNI, which is dtype-free and records autograd), so values and gradients are PyTorch's.
 */
public final class AdaptivePool {

    private AdaptivePool() {}

    /** {@code [N, C, D1..Dk]} pooled to {@code [N, C, out...]} ({@code k} = 2 or 3). */
    public static NDArray avg(NDArray x, long... out) {
        if (x.getShape().dimension() != out.length + 2) {
            throw new IllegalArgumentException("adaptive pool to " + out.length + "-D needs a [N, C, ...] input of rank "
                    + (out.length + 2) + ", got " + x.getShape());
        }
        return JniUtils.adaptiveAvgPool((PtNDArray) x, new Shape(out));
    }

    /** The PyTorch bin {@code [start, end)} of output index {@code i} for input length {@code in}, output {@code out}. */
    public static int[] bin(int i, int in, int out) {
        int start = (int) Math.floor((double) i * in / out);
        int end = (int) Math.ceil((double) (i + 1) * in / out);
        return new int[] {start, end};
    }
}
