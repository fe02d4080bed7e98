package dev.merv.core.torch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import com.sun.jna.Pointer;

/**
 * Host-to-device transfers the way a GPU wants them: data is written once into a host tensor in
 * page-locked ("pinned") memory and copied to the device with a non-blocking copy queued on the calling
 * thread's current stream, so the host neither waits for the device nor for a staging copy.
 *
 * <p>Why not DJL's {@code NDManager.create(...)} on a GPU manager: it wraps the Java buffer as a CPU tensor and
 * copies it with a blocking copy from pageable memory, which waits for every kernel already queued on the
 * device's default stream (a full synchronisation per array, per scalar even: {@code x.add(1f)} creates its
 * scalar that way).
 *
 * <p>Freeing the host tensor right after {@link #upload} is safe: torch's pinned-memory allocator records an
 * event for the copy and reuses the block only once the copy has run; a pageable source is staged by the
 * CUDA runtime before the call returns. On a CPU target every method here gives exactly what DJL's own
 * {@code create} gives (no pinning: a CPU-only libtorch has no pinned allocator).
 */
public final class Transfers {

    private static final Op EMPTY_LIKE = Op.of("aten::empty_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None,"
            + " Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor");
    private static final Op COPY_ = Op.of("aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)");
    /** c10::MemoryFormat::Contiguous. */
    private static final int CONTIGUOUS_FORMAT = 0;

    private Transfers() {}

    /** Whether host tensors are made in pinned memory: a CUDA libtorch that sees a GPU. */
    public static boolean pinning() {
        return Cuda.deviceCount() > 0;
    }

    /** Whether {@code device} is the CPU. */
    public static boolean isCpu(Device device) {
        return Device.Type.CPU.equals(device.getDeviceType());
    }

    /**
     * A new, uninitialised, contiguous CPU tensor of {@code dtype} (bf16 and int16 included) owned by
     * {@code host}, in pinned memory when {@link #pinning()}. Write it through {@link Torch#dataPointer}.
     */
    public static NDArray emptyHost(NDManager host, ScalarType dtype, long... shape) {
        if (!isCpu(host.getDevice())) {
            throw new IllegalArgumentException("emptyHost needs a CPU manager, got one on " + host.getDevice());
        }
        DataType carrier = carrier(dtype);
        NDArray t;
        if (pinning()) {
            // empty_like of a stride-0 view has the view's sizes and contiguous strides: an allocation with no
            // size list, which the dispatcher entry point cannot pass
            try (NDArray one = host.zeros(new Shape(), carrier); NDArray view = one.broadcast(new Shape(shape))) {
                t = EMPTY_LIKE.callOn((PtNDManager) host, view, null, null, null, true, CONTIGUOUS_FORMAT)[0];
            }
        } else {
            t = host.create(new Shape(shape), carrier);
        }
        if (dtype.djlSafe()) {
            return t;
        }
        NDArray typed = Torch.viewAs(t, dtype);
        t.close();
        return typed;
    }

    /**
     * {@code host} (a CPU tensor) on {@code target}'s device, owned by {@code target}: on a CPU target
     * {@code host} itself, moved to {@code target}; on a GPU a new tensor filled by a non-blocking copy on the
     * calling thread's current stream (see the class comment for why {@code host} may be closed right after).
     */
    public static NDArray upload(NDArray host, NDManager target) {
        if (!isCpu(host.getDevice())) {
            throw new IllegalArgumentException("upload needs a CPU tensor, got one on " + host.getDevice());
        }
        if (isCpu(target.getDevice())) {
            host.attach(target);
            return host;
        }
        ScalarType t = Torch.dtype(host);
        NDArray src = t.djlSafe() ? host : Torch.viewAs(host, ScalarType.FLOAT16);
        NDArray dst = target.create(host.getShape(), carrier(t));
        try {
            COPY_.call(dst, src, true).close();
        } finally {
            if (src != host) {
                src.close();
            }
        }
        if (t.djlSafe()) {
            return dst;
        }
        NDArray typed = Torch.viewAs(dst, t);
        dst.close();
        return typed;
    }

    /** An int64 tensor of {@code values} on {@code target}'s device (pinned host copy, non-blocking upload on a GPU). */
    public static NDArray upload(long[] values, Shape shape, NDManager target) {
        if (isCpu(target.getDevice())) {
            check(values.length, shape);
            return target.create(values, shape);
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            return upload(host(values, shape, host), target);
        }
    }

    /** A boolean tensor of {@code values} on {@code target}'s device. */
    public static NDArray upload(boolean[] values, Shape shape, NDManager target) {
        if (isCpu(target.getDevice())) {
            check(values.length, shape);
            return target.create(values, shape);
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            return upload(host(values, shape, host), target);
        }
    }

    /**
     * A float tensor of {@code values} in {@code dtype} (fp32, or bf16 rounded on the host to nearest even
     * exactly as libtorch's cast rounds) on {@code target}'s device. Sending bf16 halves the bytes moved and
     * gives bit for bit the tensor a device-side cast of the fp32 values would give.
     */
    public static NDArray upload(float[] values, Shape shape, ScalarType dtype, NDManager target) {
        if (dtype == ScalarType.FLOAT32 && isCpu(target.getDevice())) {
            check(values.length, shape);
            return target.create(values, shape);
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            return upload(host(values, shape, dtype, host), target);
        }
    }

    /** An int64 host tensor ({@link #emptyHost}) holding {@code values}, owned by {@code host}. */
    public static NDArray host(long[] values, Shape shape, NDManager host) {
        check(values.length, shape);
        NDArray h = emptyHost(host, ScalarType.INT64, shape.getShape());
        if (values.length > 0) {
            new Pointer(Torch.dataPointer(h)).write(0, values, 0, values.length);
        }
        return h;
    }

    /** A boolean host tensor holding {@code values}, owned by {@code host}. */
    public static NDArray host(boolean[] values, Shape shape, NDManager host) {
        check(values.length, shape);
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (values[i] ? 1 : 0);
        }
        NDArray h = emptyHost(host, ScalarType.BOOL, shape.getShape());
        if (bytes.length > 0) {
            new Pointer(Torch.dataPointer(h)).write(0, bytes, 0, bytes.length);
        }
        return h;
    }

    /** An fp32 or bf16 host tensor holding {@code values} (bf16 rounded as {@link #bf16Bits}), owned by {@code host}. */
    public static NDArray host(float[] values, Shape shape, ScalarType dtype, NDManager host) {
        check(values.length, shape);
        NDArray h = emptyHost(host, floatDtype(dtype), shape.getShape());
        write(h, 0, values);
        return h;
    }

    /**
     * Writes {@code values} into the fp32 or bf16 host tensor {@code dst} starting at element {@code offset}
     * (bf16 rounded on the way), for filling a batch tensor row by row without an intermediate array.
     */
    public static void write(NDArray dst, long offset, float[] values) {
        ScalarType t = floatDtype(Torch.dtype(dst));
        if (offset < 0 || offset + values.length > dst.getShape().size()) {
            throw new IllegalArgumentException(values.length + " values at " + offset + " do not fit " + dst.getShape());
        }
        if (values.length == 0) {
            return;
        }
        Pointer p = new Pointer(Torch.dataPointer(dst) + offset * t.bytes());
        if (t == ScalarType.FLOAT32) {
            p.write(0, values, 0, values.length);
        } else {
            short[] bits = new short[values.length];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = bf16Bits(values[i]);
            }
            p.write(0, bits, 0, bits.length);
        }
    }

    private static ScalarType floatDtype(ScalarType dtype) {
        if (dtype != ScalarType.FLOAT32 && dtype != ScalarType.BFLOAT16) {
            throw new IllegalArgumentException("float host tensors are fp32 or bf16, not " + dtype);
        }
        return dtype;
    }

    /** The bf16 bits of {@code f}, rounded to nearest even; NaN becomes 0x7FC0 (c10::BFloat16's rule). */
    public static short bf16Bits(float f) {
        if (Float.isNaN(f)) {
            return (short) 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(f);
        int roundingBias = ((bits >>> 16) & 1) + 0x7FFF;
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** The dtype DJL allocates for {@code t}: itself, or a same-size stand-in for those DJL aborts on. */
    static DataType carrier(ScalarType t) {
        if (t.djlSafe()) {
            return t.djl();
        }
        if (t.bytes() == 2) {
            return DataType.FLOAT16;
        }
        throw new IllegalArgumentException("no DJL carrier dtype for " + t);
    }

    private static void check(int n, Shape shape) {
        if (shape.size() != n) {
            throw new IllegalArgumentException(n + " values do not fill shape " + shape);
        }
    }
}
