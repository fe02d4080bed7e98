package dev.merv.core.torch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;

/**
 * The torch bridge: the ATen operators merv needs that DJL 0.36 lacks or cannot run on bf16,
 * called through libtorch's boxed dispatcher with DJL's own tensor handles. Results are ordinary
 * DJL {@link NDArray}s attached to the manager of the first tensor argument (the per-step manager in
 * a training loop), and autograd records through them exactly as through DJL's own ops.
 *
 * <p>Rules this class keeps for the rest of merv (measured in {@code docs/torch-bridge.md} §2.9, §3):
 *
 * <ul>
 *   <li>Any DJL call that passes a dtype into the JNI aborts the JVM on a bf16 tensor
 *       ({@code toType}, {@code toDevice}, {@code softmax}, {@code zerosLike}, decode, backward on a
 *       bf16 loss). Use {@link #to}, {@link #toDevice}, {@link #softmax}, {@link #zerosLike} here
 *       instead, and cast a loss to fp32 before backward.
 *   <li>DJL's {@code toType}/{@code toDevice} run without autograd; the bridged casts are
 *       differentiable.
 * </ul>
 */
public final class Torch {

    private static final Op TO_DTYPE = Op.of("aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False,"
            + " bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)");
    private static final Op TO_DEVICE = Op.of("aten::to.device(Tensor(a) self, Device device, ScalarType dtype,"
            + " bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)");
    private static final Op TO_COPY = Op.of("aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None,"
            + " Device? device=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -> Tensor");
    private static final Op VIEW_DTYPE = Op.of("aten::view.dtype(Tensor(a) self, ScalarType dtype) -> Tensor(a)");
    private static final Op SDPA = Op.of("aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value,"
            + " Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, *, float? scale=None,"
            + " bool enable_gqa=False) -> Tensor");
    private static final Op CROSS_ENTROPY = Op.of("aten::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None,"
            + " int reduction=Mean, SymInt ignore_index=-100, float label_smoothing=0.0) -> Tensor");
    private static final Op SILU = Op.of("aten::silu(Tensor self) -> Tensor");
    private static final Op SOFTMAX = Op.of("aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor");
    private static final Op LOG_SOFTMAX = Op.of("aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor");
    private static final Op RSQRT = Op.of("aten::rsqrt(Tensor self) -> Tensor");
    private static final Op ERF = Op.of("aten::erf(Tensor self) -> Tensor");
    private static final Op TANH = Op.of("aten::tanh(Tensor self) -> Tensor");
    private static final Op SIGMOID = Op.of("aten::sigmoid(Tensor self) -> Tensor");
    private static final Op ZEROS_LIKE = Op.of("aten::zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None,"
            + " Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor");
    private static final Op CLONE = Op.of("aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor");
    private static final Op CONTIGUOUS = Op.of("aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format)"
            + " -> Tensor(a)");
    /** c10::MemoryFormat::Contiguous. */
    private static final int CONTIGUOUS_FORMAT = 0;
    private static final Op INDEX_SELECT = Op.of("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor");
    private static final Op MATMUL = Op.of("aten::matmul(Tensor self, Tensor other) -> Tensor");
    private static final Op MUL = Op.of("aten::mul.Tensor(Tensor self, Tensor other) -> Tensor");
    private static final Op DIV = Op.of("aten::div.Tensor(Tensor self, Tensor other) -> Tensor");
    private static final Op LINEAR = Op.of("aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor");
    private static final Op EMBEDDING = Op.of("aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1,"
            + " bool scale_grad_by_freq=False, bool sparse=False) -> Tensor");
    private static final Op MASKED_FILL = Op.of("aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor");
    private static final Op TRANSPOSE = Op.of("aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)");
    private static final Op ANY_DIM = Op.of("aten::any.dim(Tensor self, int dim, bool keepdim=False) -> Tensor");
    private static final Op LOGICAL_NOT = Op.of("aten::logical_not(Tensor self) -> Tensor");
    private static final Op ARGMAX = Op.of("aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor");
    private static final Op COPY_ = Op.of("aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)");

    /** Cross-entropy reductions (at::Reduction). */
    public enum Reduction { NONE, MEAN, SUM }

    private Torch() {}

    // ---------------------------------------------------------------------------------- tensors

    /** The tensor's real dtype, bf16 included (DJL says UNKNOWN for it). */
    public static ScalarType dtype(NDArray x) {
        int[] out = new int[1];
        check(LibTorch.aoti_torch_get_dtype(pt(x).getHandle(), out), "aoti_torch_get_dtype");
        return ScalarType.ofCode(out[0]);
    }

    /** Fails with a clear message when a DJL call that passes a dtype would abort the JVM on {@code x}. */
    public static NDArray requireDjlSafe(NDArray x, String what) {
        ScalarType t = dtype(x);
        if (!t.djlSafe()) {
            throw new IllegalStateException(what + ": DJL's JNI cannot take a " + t + " tensor; use dev.merv.core.torch.Torch");
        }
        return x;
    }

    /** A new at::Tensor* sharing {@code x}'s storage (refcount + 1), for the dispatcher to steal. */
    static long newHandle(PtNDArray x) {
        long[] out = new long[1];
        check(LibTorch.aoti_torch_new_tensor_handle(x.getHandle(), out), "aoti_torch_new_tensor_handle");
        return out[0];
    }

    /**
     * Address of the first element of a CPU tensor, for I/O straight into tensor memory (the
     * safetensors reader, {@link Transfers}). Valid while the tensor lives. Refuses a tensor on any other
     * device: its address is device memory, which the host must never read or write.
     */
    public static long dataPointer(NDArray x) {
        long handle = pt(x).getHandle();
        int[] type = new int[1];
        check(LibTorch.aoti_torch_get_device_type(handle, type), "aoti_torch_get_device_type");
        if (type[0] != LibTorch.aoti_torch_device_type_cpu()) {
            throw new IllegalArgumentException("dataPointer needs a CPU tensor, got one on " + x.getDevice()
                    + ": copy it to the host first (Torch.toDevice) or read into a host tensor and upload it (Transfers)");
        }
        long[] out = new long[1];
        check(LibTorch.aoti_torch_get_data_ptr(handle, out), "aoti_torch_get_data_ptr");
        return out[0];
    }

    /**
     * Address of element 0 of a 1-D, stride-1 tensor on whatever device it lives (device memory for a
     * GPU tensor), for native libraries that work on that device's memory in place (NCCL). Valid while
     * the tensor lives; refuses any other layout, since such a library reads {@code numel} contiguous
     * elements from it.
     */
    public static long flatAddress(NDArray x) {
        long handle = pt(x).getHandle();
        long[] out = new long[1];
        check(LibTorch.aoti_torch_get_dim(handle, out), "aoti_torch_get_dim");
        if (out[0] != 1) {
            throw new IllegalArgumentException("flatAddress needs a 1-D tensor, got shape " + x.getShape());
        }
        check(LibTorch.aoti_torch_get_strides(handle, out), "aoti_torch_get_strides");
        long stride = new com.sun.jna.Pointer(out[0]).getLong(0);
        if (stride != 1 && x.getShape().get(0) > 1) {
            throw new IllegalArgumentException("flatAddress needs a contiguous tensor, got stride " + stride);
        }
        check(LibTorch.aoti_torch_get_data_ptr(handle, out), "aoti_torch_get_data_ptr");
        return out[0];
    }

    /** The strides of {@code x} in elements, one per dimension (its memory layout). */
    public static long[] strides(NDArray x) {
        long handle = pt(x).getHandle();
        long[] out = new long[1];
        check(LibTorch.aoti_torch_get_dim(handle, out), "aoti_torch_get_dim");
        int dim = (int) out[0];
        check(LibTorch.aoti_torch_get_strides(handle, out), "aoti_torch_get_strides");
        return dim == 0 ? new long[0] : new com.sun.jna.Pointer(out[0]).getLongArray(0, dim);
    }

    /**
     * The axes of {@code x} from outermost to innermost in memory: those longer than 1 by decreasing stride
     * (ties in axis order), then the size-1 axes, which have no place in memory. {@code x.transpose(order)}
     * is row-major when {@code x} is a dense permuted layout (a transposed view, channels-last, ...).
     */
    public static int[] memoryOrder(NDArray x) {
        long[] st = strides(x);
        long[] shape = x.getShape().getShape();
        java.util.List<Integer> axes = new java.util.ArrayList<>();
        java.util.List<Integer> unit = new java.util.ArrayList<>();
        for (int i = 0; i < st.length; i++) {
            (shape[i] == 1 ? unit : axes).add(i);
        }
        // a stable sort: equal strides keep axis order
        axes.sort((a, b) -> Long.compare(st[b], st[a]));
        axes.addAll(unit);
        return axes.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Differentiable dtype cast ({@code aten::to.dtype}); already of that dtype, a new handle to the same tensor (no copy). */
    public static NDArray to(NDArray x, ScalarType dtype) {
        return TO_DTYPE.call(x, dtype);
    }

    /** Differentiable copy to another device and dtype ({@code aten::to.device}); works on bf16. */
    public static NDArray toDevice(NDArray x, Device device, ScalarType dtype) {
        if (x.getDevice().equals(device)) {
            return to(x, dtype);
        }
        NDManager target = x.getManager().getDevice().equals(device) ? x.getManager() : null;
        if (target == null) {
            throw new IllegalArgumentException("toDevice: give a manager on " + device + " with toDevice(x, manager, dtype)");
        }
        return TO_DEVICE.call(x, device, dtype);
    }

    /**
     * Differentiable copy into {@code manager}'s device and the given dtype, owned by {@code manager}. A
     * host-to-GPU copy is queued without blocking (the host memory may be freed right after, see
     * {@link Transfers}); a GPU-to-host copy blocks until the values are there; GPU-to-GPU copies are ordered
     * by libtorch on the streams of both devices.
     */
    public static NDArray toDevice(NDArray x, NDManager manager, ScalarType dtype) {
        boolean toGpu = Transfers.isCpu(x.getDevice()) && manager.getDevice().isGpu();
        return TO_DEVICE.callOn((PtNDManager) manager, x, manager.getDevice(), dtype, toGpu, true)[0];
    }

    /** A fresh copy ({@code aten::_to_copy}) in {@code dtype}; always allocates. */
    public static NDArray copy(NDArray x, ScalarType dtype) {
        return TO_COPY.call(x, dtype);
    }

    /** Reinterprets the bits as another dtype of the same element size (fp16 bytes as bf16, bit-exact). */
    public static NDArray viewAs(NDArray x, ScalarType dtype) {
        return VIEW_DTYPE.call(x, dtype);
    }

    /** In-place copy of {@code src} into {@code dst} (broadcasting, casting); no autograd use intended. */
    public static void copyInto(NDArray dst, NDArray src) {
        COPY_.call(dst, src).close();
    }

    /** Values as a float array, whatever the dtype (bf16 included). */
    public static float[] toFloatArray(NDArray x) {
        ScalarType t = dtype(x);
        if (t == ScalarType.FLOAT32) {
            return x.toFloatArray();
        }
        try (NDArray f = copy(x, ScalarType.FLOAT32)) {
            return f.toFloatArray();
        }
    }

    /** A zero tensor like {@code x} (dtype and device kept; bf16 safe). */
    public static NDArray zerosLike(NDArray x) {
        return ZEROS_LIKE.call(x);
    }

    public static NDArray clone(NDArray x) {
        return CLONE.call(x);
    }

    /**
     * {@code x} in row-major (contiguous) layout: a new handle to the same tensor when it already is,
     * else a dense copy (a transposed or strided view becomes a fresh tensor).
     */
    public static NDArray contiguous(NDArray x) {
        return CONTIGUOUS.call(x, CONTIGUOUS_FORMAT);
    }

    /**
     * A view of {@code x}'s memory with the given sizes and strides (in elements) starting
     * {@code offset} elements after {@code x}'s first element, owned by {@code x}'s manager; it keeps
     * the memory alive after {@code x} is closed. libtorch does not bounds-check it: the caller must
     * have checked that {@code offset + sum((sizes[i] - 1) * strides[i])} lies inside {@code x}, with
     * every size and stride non-negative.
     */
    public static NDArray asStrided(NDArray x, long[] sizes, long[] strides, long offset) {
        if (sizes.length != strides.length) {
            throw new IllegalArgumentException("asStrided: " + sizes.length + " sizes but " + strides.length + " strides");
        }
        long[] out = new long[1];
        check(LibTorch.aoti_torch__reinterpret_tensor(pt(x).getHandle(), sizes.length, sizes, strides, offset, out),
                "aoti_torch__reinterpret_tensor");
        return new PtNDArray((PtNDManager) x.getManager(), out[0]);
    }

    // --------------------------------------------------------------------------------- math

    /**
     * Fused attention {@code aten::scaled_dot_product_attention}. Shapes {@code [B, H, T, D]};
     * {@code mask} is boolean (true = attend) or additive float, broadcastable to {@code [B, H, Tq, Tk]};
     * {@code scale} null means {@code 1/sqrt(D)}; {@code gqa} lets K/V have fewer heads than Q.
     */
    public static NDArray sdpa(NDArray q, NDArray k, NDArray v, NDArray mask, boolean causal, Double scale, boolean gqa) {
        return SDPA.call(q, k, v, mask, 0.0, causal, scale, gqa);
    }

    public static NDArray sdpa(NDArray q, NDArray k, NDArray v, NDArray mask, boolean causal) {
        return sdpa(q, k, v, mask, causal, null, false);
    }

    /** Cross-entropy over the last axis of {@code [N, C]} logits and {@code [N]} int64 targets. */
    public static NDArray crossEntropy(NDArray logits, NDArray target, Reduction reduction, long ignoreIndex) {
        return CROSS_ENTROPY.call(logits, target, null, (long) reduction.ordinal(), ignoreIndex, 0.0);
    }

    public static NDArray silu(NDArray x) {
        return SILU.call(x);
    }

    /** Exact (erf) GELU. DJL's gelu is dtype-free and differentiable, so it serves bf16 too. */
    public static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }

    /**
     * Tanh-approximated GELU ({@code gelu_pytorch_tanh}, {@code gelu_fast}). {@code aten::gelu} takes
     * its mode as a {@code str}, which libtorch 2.7's entry point cannot pass, so it is composed.
     */
    public static NDArray geluTanh(NDArray x) {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); every intermediate is closed here so that a
        // long-lived manager does not collect six temporaries per call (autograd keeps what it needs:
        // the scalars are libtorch-owned, see mulScalar)
        NDArray x2 = x.mul(x);
        NDArray x3 = x2.mul(x);
        x2.close();
        NDArray c = mulScalar(x3, 0.044715f);
        x3.close();
        NDArray inner = x.add(c);
        c.close();
        NDArray scaled = mulScalar(inner, (float) Math.sqrt(2.0 / Math.PI));
        inner.close();
        NDArray t = tanh(scaled);
        scaled.close();
        NDArray onePlus = addScalar(t, 1f);
        t.close();
        NDArray half = mulScalar(x, 0.5f);
        NDArray out = half.mul(onePlus);
        half.close();
        onePlus.close();
        return out;
    }

    /** Softmax along {@code axis}; {@code accumulate} (nullable) is the dtype computed and returned. */
    public static NDArray softmax(NDArray x, int axis, ScalarType accumulate) {
        return SOFTMAX.call(x, (long) axis, accumulate);
    }

    public static NDArray softmax(NDArray x, int axis) {
        return softmax(x, axis, null);
    }

    public static NDArray logSoftmax(NDArray x, int axis, ScalarType accumulate) {
        return LOG_SOFTMAX.call(x, (long) axis, accumulate);
    }

    public static NDArray rsqrt(NDArray x) {
        return RSQRT.call(x);
    }

    public static NDArray erf(NDArray x) {
        return ERF.call(x);
    }

    public static NDArray tanh(NDArray x) {
        return TANH.call(x);
    }

    public static NDArray sigmoid(NDArray x) {
        return SIGMOID.call(x);
    }

    public static NDArray matmul(NDArray a, NDArray b) {
        return MATMUL.call(a, b);
    }

    public static NDArray mul(NDArray a, NDArray b) {
        return MUL.call(a, b);
    }

    // ------------------------------------------------------------------------------ scalar arithmetic

    /**
     * {@code x * s}, safe under autograd. Use this (not DJL's {@code NDArray.mul(Number)}) wherever
     * {@code x} may be in a graph: DJL makes the scalar with {@code NDManager.create(Number)}, which on CPU
     * wraps a Java direct buffer ({@code from_blob}) and closes it right after the op, while autograd keeps
     * that scalar to back-propagate into {@code x}. A garbage collection before backward then frees the
     * buffer and backward multiplies by whatever reuses the memory: the sporadic ~1e9 first-step gradient
     * norm of {@code ./merv pretrain} (the fusion's query scale). Here the scalar is a 0-dim fp32 tensor
     * that libtorch allocates itself, so the graph's reference keeps it alive. As with DJL's, a 0-dim fp32
     * operand does not change {@code x}'s dtype (bf16 stays bf16).
     */
    public static NDArray mulScalar(NDArray x, double s) {
        try (NDArray sc = scalarFor(x, s)) {
            return MUL.call(x, sc);
        }
    }

    /** {@code x / s}, safe under autograd (see {@link #mulScalar}; {@code DivBackward} keeps the divisor). */
    public static NDArray divScalar(NDArray x, double s) {
        try (NDArray sc = scalarFor(x, s)) {
            return DIV.call(x, sc);
        }
    }

    /** {@code x + s} with the scalar allocated by libtorch (see {@link #mulScalar}). */
    public static NDArray addScalar(NDArray x, double s) {
        try (NDArray sc = scalarFor(x, s)) {
            return x.add(sc); // aten::add.Tensor has a Scalar alpha the bridge cannot pass; DJL's tensor add is fine
        }
    }

    /** A 0-dim fp32 tensor holding {@code (float) s} in libtorch-owned memory on {@code x}'s device. */
    private static NDArray scalarFor(NDArray x, double s) {
        return scalar(x.getManager(), s, ScalarType.FLOAT32);
    }

    /**
     * A 0-dim tensor of {@code dtype} holding {@code s} on {@code manager}'s device, filled there (no host
     * copy, no synchronisation; DJL's {@code NDManager.create(Number)} copies from the host instead). Use it
     * as the tensor operand of DJL's {@code add/sub/mul/div/maximum/minimum} and their in-place forms, which
     * then compute exactly what their {@code Number} overloads compute ({@code (float) s} as a 0-dim fp32).
     * The value passes as a float: an fp64 scalar holds {@code (double) (float) s}.
     */
    public static NDArray scalar(NDManager manager, double s, ScalarType dtype) {
        if (!dtype.djlSafe()) {
            throw new IllegalArgumentException("scalar: " + dtype + " scalars are not needed (use an fp32 one: it keeps "
                    + "a bf16 tensor bf16)");
        }
        return manager.full(new ai.djl.ndarray.types.Shape(), (float) s, dtype.djl());
    }

    /** {@code x *= s} in place with a device-made scalar (what DJL's {@code muli(Number)} computes). */
    public static void mulInPlace(NDArray x, double s) {
        try (NDArray sc = scalarFor(x, s)) {
            x.muli(sc);
        }
    }

    /** {@code any(x, dim, keepdim)} of a boolean tensor. */
    public static NDArray any(NDArray x, int dim, boolean keepdim) {
        return ANY_DIM.call(x, (long) dim, keepdim);
    }

    public static NDArray logicalNot(NDArray x) {
        return LOGICAL_NOT.call(x);
    }

    /** Index of the first maximum along {@code dim} (torch.argmax's tie rule), int64. */
    public static NDArray argmax(NDArray x, int dim, boolean keepdim) {
        return ARGMAX.call(x, (long) dim, keepdim);
    }

    /** {@code x W^T + b}, any float dtype. */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return LINEAR.call(x, weight, bias);
    }

    public static NDArray embedding(NDArray weight, NDArray ids) {
        return EMBEDDING.call(weight, ids);
    }

    public static NDArray indexSelect(NDArray x, int axis, NDArray index) {
        return INDEX_SELECT.call(x, (long) axis, index);
    }

    /** {@code where(mask, value, x)} with a 0-dim {@code value} tensor; the mask broadcasts. */
    public static NDArray maskedFill(NDArray x, NDArray mask, NDArray value) {
        return MASKED_FILL.call(x, mask, value);
    }

    public static NDArray transpose(NDArray x, int d0, int d1) {
        return TRANSPOSE.call(x, (long) d0, (long) d1);
    }

    // ------------------------------------------------------------------------------ grad mode

    /** Whether autograd records on this thread (grad mode is thread-local in libtorch). */
    public static boolean gradEnabled() {
        return LibTorch.aoti_torch_grad_mode_is_enabled() != 0;
    }

    public static void setGradEnabled(boolean enabled) {
        LibTorch.aoti_torch_grad_mode_set_enabled((byte) (enabled ? 1 : 0));
    }

    /** Turns autograd off on this thread until closed, then restores the previous mode. */
    public static GradMode noGrad() {
        return new GradMode(false);
    }

    /** Turns autograd on on this thread until closed (DJL turns it off on the engine's loading thread). */
    public static GradMode withGrad() {
        return new GradMode(true);
    }

    /** A scoped grad-mode switch. */
    public static final class GradMode implements AutoCloseable {
        private final boolean previous;

        private GradMode(boolean enabled) {
            previous = gradEnabled();
            setGradEnabled(enabled);
        }

        @Override
        public void close() {
            setGradEnabled(previous);
        }
    }

    // -------------------------------------------------------------------------------- helpers

    static PtNDArray pt(NDArray x) {
        if (!(x instanceof PtNDArray)) {
            throw new IllegalArgumentException("the torch bridge needs PyTorch-engine arrays, got " + x.getClass().getName());
        }
        return (PtNDArray) x;
    }

    private static void check(int rc, String call) {
        if (rc != 0) {
            throw new BridgeException(call, "libtorch returned error code " + rc);
        }
    }

    /** The version of the libtorch the engine loaded, e.g. {@code 2.7.1} (DJL's own) or {@code 2.14.1}. */
    public static String libtorchVersion() {
        return DeviceSlot.versionString(LibTorch.VERSION);
    }

    /** The dispatcher slot for a DJL device, in the layout of the loaded libtorch (see {@link DeviceSlot}). */
    static long deviceSlot(Device d) {
        if (d.isGpu()) {
            return DeviceSlot.encode(LibTorch.deviceLayout(), LibTorch.aoti_torch_device_type_cuda(), d.getDeviceId());
        }
        if (Device.Type.CPU.equals(d.getDeviceType())) {
            return DeviceSlot.encode(LibTorch.deviceLayout(), LibTorch.aoti_torch_device_type_cpu(), -1);
        }
        throw new IllegalArgumentException("device " + d + " is neither a CPU nor a CUDA device");
    }

    /** The libtorch_cpu.so the bridge is bound to (for diagnostics). */
    public static String library() {
        return LibTorch.LIBRARY.toString();
    }
}
