package dev.merv.core.testing;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;
import java.util.Arrays;

/** Elementwise comparison that reports the worst element, its index and the tolerance on failure. */
public final class Compare {

    private Compare() {}

    /** The outcome of a comparison: the worst excess over tolerance and where it was. */
    public record Result(boolean ok, double maxAbsDiff, long worstFlatIndex, long[] worstIndex, double actual,
            double expected, double allowed) {}

    public static Result compare(NDArray actual, NDArray expected, double atol, double rtol) {
        if (!Arrays.equals(actual.getShape().getShape(), expected.getShape().getShape())) {
            throw new AssertionError("shape " + actual.getShape() + " differs from expected " + expected.getShape());
        }
        float[] a = Torch.toFloatArray(actual);
        float[] e = Torch.toFloatArray(expected);
        return compare(a, e, actual.getShape().getShape(), atol, rtol);
    }

    public static Result compare(float[] a, float[] e, long[] shape, double atol, double rtol) {
        double worstExcess = Double.NEGATIVE_INFINITY;
        long worst = -1;
        double maxAbs = 0;
        boolean ok = true;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - e[i]);
            double allowed = atol + rtol * Math.abs(e[i]);
            if (Double.isNaN(a[i]) != Double.isNaN(e[i])) {
                d = Double.POSITIVE_INFINITY;
            } else if (Double.isNaN(a[i])) {
                d = 0;
            }
            maxAbs = Math.max(maxAbs, d);
            double excess = d - allowed;
            if (excess > worstExcess) {
                worstExcess = excess;
                worst = i;
            }
            if (d > allowed) {
                ok = false;
            }
        }
        if (worst < 0) {
            return new Result(true, 0, -1, new long[0], 0, 0, atol);
        }
        long[] idx = unravel(worst, shape);
        return new Result(ok, maxAbs, worst, idx, a[(int) worst], e[(int) worst], atol + rtol * Math.abs(e[(int) worst]));
    }

    public static void assertClose(String what, NDArray actual, NDArray expected, double atol, double rtol) {
        Result r = compare(actual, expected, atol, rtol);
        if (!r.ok()) {
            throw new AssertionError(String.format(
                    "%s: worst element %s (flat %d): actual %.9g expected %.9g |diff| %.3g > allowed %.3g"
                            + " (atol %.2g rtol %.2g); max|diff| %.3g over %s",
                    what, Arrays.toString(r.worstIndex()), r.worstFlatIndex(), r.actual(), r.expected(),
                    Math.abs(r.actual() - r.expected()), r.allowed(), atol, rtol, r.maxAbsDiff(), actual.getShape()));
        }
    }

    public static void assertClose(String what, float[] actual, float[] expected, long[] shape, double atol, double rtol) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": length " + actual.length + " vs expected " + expected.length);
        }
        Result r = compare(actual, expected, shape, atol, rtol);
        if (!r.ok()) {
            throw new AssertionError(String.format(
                    "%s: worst element %s: actual %.9g expected %.9g > allowed %.3g; max|diff| %.3g",
                    what, Arrays.toString(r.worstIndex()), r.actual(), r.expected(), r.allowed(), r.maxAbsDiff()));
        }
    }

    static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            long s = Math.max(1, shape[d]);
            idx[d] = flat % s;
            flat /= s;
        }
        return idx;
    }
}
