package dev.merv.data.cache;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Pointer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Moves cached tensors between libtorch and the Java heap, bit-exactly in any dtype (bf16 included):
 * rows of a computed array out to {@link FeatureCache.Tensor}s, cached rows into one array on a
 * manager's device.
 */
final class HostTensors {

    private HostTensors() {}

    /** Each row (first axis) of {@code values}, on whatever device it lives, as bytes. */
    static List<FeatureCache.Tensor> rows(NDArray values) {
        ScalarType dtype = Torch.dtype(values);
        long[] shape = values.getShape().getShape();
        long[] rowShape = Arrays.copyOfRange(shape, 1, shape.length);
        byte[] all = bytes(values);
        int rows = (int) shape[0];
        List<FeatureCache.Tensor> out = new ArrayList<>(rows);
        int per = rows == 0 ? 0 : all.length / rows;
        for (int r = 0; r < rows; r++) {
            out.add(new FeatureCache.Tensor(dtype, rowShape, Arrays.copyOfRange(all, r * per, (r + 1) * per)));
        }
        return out;
    }

    /** The bytes of {@code x} in row-major order (copied to the CPU first when it lives elsewhere). */
    static byte[] bytes(NDArray x) {
        if (!Device.Type.CPU.equals(x.getDevice().getDeviceType())) {
            try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); var ng = Torch.noGrad()) {
                return bytes(Torch.toDevice(x, cpu, Torch.dtype(x)));
            }
        }
        NDArray dense = Torch.contiguous(x);
        try {
            long len = Math.multiplyExact(dense.getShape().size(), (long) Torch.dtype(dense).bytes());
            if (len > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("array of " + len + " bytes is too large for the feature cache");
            }
            byte[] out = new byte[(int) len];
            if (len > 0) {
                new Pointer(Torch.dataPointer(dense)).read(0, out, 0, out.length);
            }
            return out;
        } finally {
            if (dense != x) {
                dense.close();
            }
        }
    }

    /** One tensor as a new array owned by {@code manager}. */
    static NDArray toArray(FeatureCache.Tensor t, NDManager manager) {
        return stack(List.of(t), t.shape(), manager, false);
    }

    /**
     * Rows of equal dtype and shape {@code rowShape} stacked into {@code [rows, ...rowShape]}, or, with
     * {@code stacked} false, the single tensor as it is; owned by {@code manager}, on its device.
     */
    static NDArray stack(List<FeatureCache.Tensor> rows, long[] rowShape, NDManager manager, boolean stacked) {
        ScalarType dtype = rows.get(0).dtype();
        long[] shape = rowShape;
        if (stacked) {
            shape = new long[rowShape.length + 1];
            shape[0] = rows.size();
            System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        }
        for (FeatureCache.Tensor t : rows) {
            if (t.dtype() != dtype || !Arrays.equals(t.shape(), rowShape)) {
                throw new IllegalArgumentException("cached rows differ: " + t.dtype() + " " + Arrays.toString(t.shape())
                        + " vs " + dtype + " " + Arrays.toString(rowShape));
            }
        }
        boolean onCpu = Device.Type.CPU.equals(manager.getDevice().getDeviceType());
        NDManager host = onCpu ? manager : NDManager.newBaseManager(Device.cpu());
        try {
            // bf16 lands in an fp16 carrier and is reinterpreted, as DJL cannot create bf16 arrays
            DataType carrier = dtype.djlSafe() ? dtype.djl() : DataType.FLOAT16;
            NDArray dst = host.create(new Shape(shape), carrier);
            long addr = Torch.dataPointer(dst);
            long off = 0;
            for (FeatureCache.Tensor t : rows) {
                new Pointer(addr + off).write(0, t.data(), 0, t.data().length);
                off += t.data().length;
            }
            NDArray typed = dst;
            if (!dtype.djlSafe()) {
                typed = Torch.viewAs(dst, dtype);
                dst.close();
            }
            if (onCpu) {
                return typed;
            }
            return Torch.toDevice(typed, manager, dtype);
        } finally {
            if (!onCpu) {
                host.close();
            }
        }
    }
}
