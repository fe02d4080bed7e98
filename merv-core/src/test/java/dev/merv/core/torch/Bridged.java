package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.testing.Compare;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Test support for the bridge: seeded random inputs (a fresh seed per run, printed in every failure,
 * pinned with {@code -Dmerv.test.seed=N}), forward + backward runs that return values and gradients,
 * and exact bf16 rounding in Java for bit-level pins.
 */
final class Bridged {

    static final long SEED = Long.getLong("merv.test.seed", System.nanoTime());

    private Bridged() {}

    static Random random(String what) {
        return new Random(SEED ^ what.hashCode());
    }

    static NDArray normal(NDManager m, Random r, long... shape) {
        float[] v = new float[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, new Shape(shape));
    }

    static NDArray uniform(NDManager m, Random r, float lo, float hi, long... shape) {
        float[] v = new float[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextFloat();
        }
        return m.create(v, new Shape(shape));
    }

    /** Round-to-nearest-even fp32 -> bf16 -> fp32, as libtorch does it (NaN excluded). */
    static float bf16(float f) {
        int b = Float.floatToRawIntBits(f);
        int lsb = (b >>> 16) & 1;
        b += 0x7FFF + lsb;
        return Float.intBitsToFloat(b & 0xFFFF0000);
    }

    static float[] bf16(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = bf16(v[i]);
        }
        return o;
    }

    /** Values and input gradients of one forward + backward. */
    record Run(float[] value, long[] shape, ScalarType dtype, List<float[]> grads, List<ScalarType> gradTypes) {}

    /**
     * Runs {@code f} on fresh leaf copies of the floating inputs (others passed as they are) with grad
     * mode on, back-propagates {@code gradOut} (ones when null) and returns the value and every
     * floating input's gradient (null for non-floating inputs).
     */
    @SuppressWarnings("try") // the scope only switches grad mode
    static Run run(NDManager m, Function<NDArray[], NDArray> f, NDArray gradOut, NDArray... inputs) {
        try (Torch.GradMode g = Torch.withGrad(); NDManager s = m.newSubManager()) {
            NDArray[] leaves = new NDArray[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                if (inputs[i] != null && Torch.dtype(inputs[i]).isFloating()) {
                    leaves[i] = Torch.clone(inputs[i]);
                    leaves[i].attach(s);
                    leaves[i].setRequiresGradient(true);
                } else {
                    leaves[i] = inputs[i];
                }
            }
            NDArray out = f.apply(leaves);
            out.attach(s);
            NDArray seed = gradOut;
            if (seed == null) {
                seed = s.ones(out.getShape());
                if (Torch.dtype(out) != ScalarType.FLOAT32) {
                    seed = Torch.to(seed, Torch.dtype(out));
                }
            }
            JniUtils.backward((PtNDArray) out, (PtNDArray) seed, false, false);
            List<float[]> grads = new ArrayList<>();
            List<ScalarType> types = new ArrayList<>();
            for (int i = 0; i < inputs.length; i++) {
                if (leaves[i] != null && leaves[i] != inputs[i]) {
                    NDArray gr = leaves[i].getGradient();
                    grads.add(Torch.toFloatArray(gr));
                    types.add(Torch.dtype(gr));
                    gr.close();
                } else {
                    grads.add(null);
                    types.add(null);
                }
            }
            return new Run(Torch.toFloatArray(out), out.getShape().getShape(), Torch.dtype(out), grads, types);
        }
    }

    /** Asserts values and every gradient of two runs agree within {@code atol + rtol*|expected|}. */
    static void assertSame(String what, Run actual, Run expected, double atol, double rtol) {
        String tag = what + " (seed " + SEED + ")";
        assertThat(actual.shape()).as(tag + " shape").containsExactly(expected.shape());
        Compare.assertClose(tag + " value", actual.value(), expected.value(), actual.shape(), atol, rtol);
        for (int i = 0; i < expected.grads().size(); i++) {
            float[] e = expected.grads().get(i);
            float[] a = actual.grads().get(i);
            if (e == null) {
                assertThat(a).as(tag + " grad " + i).isNull();
                continue;
            }
            assertThat(a).as(tag + " grad of input " + i + " missing").isNotNull();
            Compare.assertClose(tag + " grad of input " + i, a, e, new long[] {a.length}, atol, rtol);
        }
    }

    static void assertExactly(String what, float[] actual, float[] expected) {
        assertThat(actual.length).as(what).isEqualTo(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                throw new AssertionError(what + " (seed " + SEED + "): element " + i + " is " + actual[i]
                        + " but expected exactly " + expected[i] + "; all: " + Arrays.toString(actual));
            }
        }
    }

    static NDArray f32(NDArray x) {
        return Torch.dtype(x) == ScalarType.FLOAT32 ? x : Torch.to(x, ScalarType.FLOAT32);
    }

    static NDArray ones(NDManager m, Shape s) {
        return m.ones(s, DataType.FLOAT32);
    }
}
