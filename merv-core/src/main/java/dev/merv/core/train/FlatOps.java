package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.Op;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * The few in-place and view ATen ops the optimizer and the collectives need on flat buffers, via the
 * bridge (bf16 safe, no temporary scalar tensors where avoidable). In-place results are aliases whose
 * handles are closed here.
 */
final class FlatOps {

    private static final Op SLICE = Op.of("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None,"
            + " SymInt? end=None, SymInt step=1) -> Tensor(a)");
    private static final Op ZERO_ = Op.of("aten::zero_(Tensor(a!) self) -> Tensor(a!)");
    private static final Op LERP_ = Op.of("aten::lerp_.Tensor(Tensor(a!) self, Tensor end, Tensor weight) -> Tensor(a!)");
    private static final Op RESHAPE_FLAT = Op.of("aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)");
    private static final Op ISFINITE = Op.of("aten::isfinite(Tensor self) -> Tensor");

    private FlatOps() {}

    /** A view of elements {@code [start, end)} of a 1-D tensor. */
    static NDArray slice(NDArray flat, long start, long end) {
        return SLICE.call(flat, 0L, start, end, 1L);
    }

    static void zero(NDArray x) {
        ZERO_.call(x).close();
    }

    /** {@code dst += src} (fp32; DJL's in-place add works on bridged views). */
    static void addInto(NDArray dst, NDArray src) {
        dst.addi(src);
    }

    /** {@code self += weight * (end - self)}, torch's lerp kernel. */
    static void lerpInto(NDArray self, NDArray end, NDArray weight) {
        LERP_.call(self, end, weight).close();
    }

    /**
     * {@code self += t1 * t2} with torch's addcmul rounding order (a product, then one add; the
     * kernel's {@code Scalar value} cannot cross the dispatcher entry point, callers fold it into t1).
     */
    static void addcmulInto(NDArray self, NDArray t1, NDArray t2) {
        try (NDArray p = t1.mul(t2)) {
            self.addi(p);
        }
    }

    /** {@code self += t1 / t2} with torch's addcdiv rounding order. */
    static void addcdivInto(NDArray self, NDArray t1, NDArray t2) {
        try (NDArray q = t1.div(t2)) {
            self.addi(q);
        }
    }

    /** A 1-D view of {@code x} (contiguous tensors only). */
    static NDArray flatten(NDArray x) {
        return RESHAPE_FLAT.call(x, 0L, -1L);
    }

    /** Copies {@code src} into {@code dst}, casting; {@code src} may live on another device. */
    static void copyInto(NDArray dst, NDArray src) {
        if (dst.getDevice().equals(src.getDevice())) {
            Torch.copyInto(dst, src);
        } else {
            try (NDArray moved = Torch.toDevice(src, dst.getManager(), Torch.dtype(src))) {
                Torch.copyInto(dst, moved);
            }
        }
    }

    /** Adds {@code src} (maybe on another device) into {@code dst}. */
    static void addFrom(NDArray dst, NDArray src) {
        if (dst.getDevice().equals(src.getDevice()) && Torch.dtype(dst) == Torch.dtype(src)) {
            addInto(dst, src);
        } else {
            try (NDArray moved = Torch.toDevice(src, dst.getManager(), Torch.dtype(dst))) {
                addInto(dst, moved);
            }
        }
    }

    /** A new zero fp32 vector of {@code n} elements in {@code manager}. */
    static NDArray zeros(NDManager manager, long n, ScalarType dtype) {
        NDArray z = manager.zeros(new ai.djl.ndarray.types.Shape(n), ai.djl.ndarray.types.DataType.FLOAT32);
        if (dtype == ScalarType.FLOAT32) {
            return z;
        }
        NDArray c = Torch.copy(z, dtype);
        z.close();
        return c;
    }

    static boolean allFinite(NDArray x) {
        try (NDArray f = ISFINITE.call(x); NDArray all = f.all()) {
            return all.getBoolean();
        }
    }
}
