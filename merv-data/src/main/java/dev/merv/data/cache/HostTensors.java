package dev.merv.data.cache;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.sun.jna.Pointer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.torch.Transfers;
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

    /**
     * Each row (first axis) of {@code values}, on whatever device it lives, as bytes in the rows' memory
     * order (recorded in each tensor, so {@link #stack} gives the layout back).
     */
    static List<FeatureCache.Tensor> rows(NDArray values) {
        ScalarType dtype = Torch.dtype(values);
        long[] shape = values.getShape().getShape();
        long[] rowShape = Arrays.copyOfRange(shape, 1, shape.length);
        int rows = (int) shape[0];
        if (rows == 0) {
            return List.of();
        }
        int[] order;
        try (NDArray first = values.get(0)) {
            order = Torch.memoryOrder(first);
        }
        int[] perm = new int[shape.length];
        for (int i = 0; i < order.length; i++) {
            perm[i + 1] = order[i] + 1;
        }
        byte[] all;
        try (NDArray stored = values.transpose(perm)) {
            all = bytes(stored);
        }
        List<FeatureCache.Tensor> out = new ArrayList<>(rows);
        int per = all.length / rows;
        for (int r = 0; r < rows; r++) {
            out.add(new FeatureCache.Tensor(dtype, rowShape, Arrays.copyOfRange(all, r * per, (r + 1) * per), order));
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

    /** One tensor's bytes as a new row-major array of its stored (memory-order) shape, owned by {@code manager}. */
    static NDArray storedArray(FeatureCache.Tensor t, NDManager manager) {
        NDArray dst = Transfers.emptyHost(manager, t.dtype(), t.storedShape());
        fill(dst, List.of(t));
        return dst;
    }

    /**
     * Rows of equal dtype, shape and memory order stacked as stored: a row-major host tensor
     * {@code [rows, ...stored row shape]} owned by {@code host} (pinned on a GPU machine), for upload.
     */
    static NDArray stackStored(List<FeatureCache.Tensor> rows, NDManager host) {
        FeatureCache.Tensor first = rows.get(0);
        for (FeatureCache.Tensor t : rows) {
            if (t.dtype() != first.dtype() || !Arrays.equals(t.shape(), first.shape())
                    || !Arrays.equals(t.order(), first.order())) {
                throw new IllegalArgumentException("cached rows differ: " + t.dtype() + " " + Arrays.toString(t.shape())
                        + " order " + Arrays.toString(t.order()) + " vs " + first.dtype() + " " + Arrays.toString(first.shape())
                        + " order " + Arrays.toString(first.order()));
            }
        }
        long[] stored = first.storedShape();
        long[] shape = new long[stored.length + 1];
        shape[0] = rows.size();
        System.arraycopy(stored, 0, shape, 1, stored.length);
        NDArray dst = Transfers.emptyHost(host, first.dtype(), shape);
        fill(dst, rows);
        return dst;
    }

    /**
     * Stacked stored rows {@code [rows, ...stored row shape]} viewed in their logical axis order, keeping the
     * memory layout they were computed in ({@code order}: a row's axes outermost first; null: row-major).
     */
    static NDArray inLayout(NDArray stored, int[] order) {
        if (order == null) {
            return stored;
        }
        int[] inverse = new int[order.length + 1];
        for (int i = 0; i < order.length; i++) {
            inverse[order[i] + 1] = i + 1;
        }
        return stored.transpose(inverse);
    }

    private static void fill(NDArray dst, List<FeatureCache.Tensor> rows) {
        long addr = Torch.dataPointer(dst);
        long off = 0;
        for (FeatureCache.Tensor t : rows) {
            new Pointer(addr + off).write(0, t.data(), 0, t.data().length);
            off += t.data().length;
        }
    }
}
