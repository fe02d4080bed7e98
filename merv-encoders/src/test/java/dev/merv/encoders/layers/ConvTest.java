package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.testing.Compare;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import org.junit.jupiter.api.Test;

/** The non-fp32 conv paths (patchify as matmul, fp32 fallback) agree with DJL's fp32 convolution. */
class ConvTest {

    @Test
    void patchifyMatmulEqualsConvolution() {
        check(new long[] {2, 8, 8}, new long[] {2, 8, 8}, new long[] {0, 0, 0}, new Shape(2, 3, 4, 16, 24));
        check(new long[] {8, 8}, new long[] {8, 8}, new long[] {0, 0}, new Shape(3, 3, 16, 24));
    }

    @Test
    void overlappingConvolutionFallsBackToFloat32() {
        check(new long[] {3, 7, 7}, new long[] {2, 4, 4}, new long[] {1, 3, 3}, new Shape(1, 3, 4, 16, 16));
    }

    private static void check(long[] kernel, long[] stride, long[] pad, Shape in) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad()) {
            Conv conv = new Conv(3, 5, kernel, stride, pad, true);
            long[] ws = new long[2 + kernel.length];
            ws[0] = 5;
            ws[1] = 3;
            System.arraycopy(kernel, 0, ws, 2, kernel.length);
            conv.weight().set(m.randomNormal(new Shape(ws)));
            conv.namedParameters().get("bias").set(m.randomNormal(new Shape(5)));
            NDArray x = m.randomNormal(in);
            NDArray ref = conv.forward(x);
            // fp64 takes the non-fp32 path with exact-enough arithmetic to compare tightly
            conv.castTo(ScalarType.FLOAT64, m);
            NDArray got = conv.forward(Torch.to(x, ScalarType.FLOAT64));
            Compare.assertClose("conv " + in, Torch.toFloatArray(got), ref.toFloatArray(), ref.getShape().getShape(), 1e-4, 1e-5);
        }
    }
}
