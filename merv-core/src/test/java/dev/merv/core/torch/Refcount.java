package dev.merv.core.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import com.sun.jna.Pointer;

/**
 * The strong reference count of a tensor's {@code TensorImpl}: one per live {@code at::Tensor}
 * handle (DJL's, the bridge's, autograd's saved copies). Test-only: it reads libtorch's object layout
 * ({@code at::Tensor} = one {@code intrusive_ptr<TensorImpl>}; {@code intrusive_ptr_target} = vtable
 * pointer, then {@code atomic<uint32_t> refcount_}), and {@link #check} proves that layout on a live
 * tensor before a test relies on it.
 */
final class Refcount {

    private Refcount() {}

    static int of(NDArray x) {
        long impl = new Pointer(((PtNDArray) x).getHandle()).getLong(0);
        return new Pointer(impl).getInt(8);
    }

    /** Fails unless one extra handle shows as +1 and deleting it as -1. */
    static void check(NDArray x) {
        int before = of(x);
        long h = Torch.newHandle((PtNDArray) x);
        int with = of(x);
        LibTorch.aoti_torch_delete_tensor_object(h);
        int after = of(x);
        if (with != before + 1 || after != before) {
            throw new AssertionError("libtorch object layout not as expected: refcount " + before + " -> " + with
                    + " -> " + after);
        }
    }
}
