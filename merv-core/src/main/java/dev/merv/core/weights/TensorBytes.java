package dev.merv.core.weights;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Pointer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.torch.Transfers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Moves tensor bytes between a file and libtorch memory without a Java-heap copy: positional
 * {@link FileChannel} reads straight into a new, uninitialised CPU tensor (or a pinned host tensor that is
 * then copied to the GPU), and writes straight out of a tensor's memory (a GPU tensor is copied to the host
 * first). Shared by every weights format merv reads and writes (safetensors, torch.save).
 *
 * <p>bf16 and int16 bytes land in a FLOAT16 tensor that the bridge reinterprets bit-exactly, because
 * DJL's JNI aborts when asked to create those dtypes. Reads and writes go in pieces of at most
 * {@link #piece} bytes, since a direct ByteBuffer over tensor memory is int-indexed: tensors over
 * 2 GiB work.
 */
public final class TensorBytes {

    /** Largest single read or write (tests lower it to exercise the piecewise path). */
    static int piece = 1 << 30;

    private TensorBytes() {}

    /**
     * A new contiguous tensor on {@code manager}'s device of {@code shape} and {@code dtype}, owned by
     * {@code manager}, filled with the {@code numel * dtype.bytes()} bytes at {@code position} of
     * {@code channel} (file byte order is the machine's: little-endian). The caller has checked that those
     * bytes exist. On the CPU the bytes are read straight into the new tensor; for any other device they are
     * read into a host tensor (pinned memory on a GPU machine) and copied to the device without blocking
     * ({@link Transfers#upload}), since a GPU tensor's address is device memory.
     */
    public static NDArray read(FileChannel channel, long position, ScalarType dtype, long[] shape, NDManager manager)
            throws IOException {
        return read(channel, position, dtype, shape, manager, !Transfers.isCpu(manager.getDevice()));
    }

    /** {@link #read} with the host-staged path forced on or off (tests run the staged path on the CPU). */
    static NDArray read(FileChannel channel, long position, ScalarType dtype, long[] shape, NDManager manager,
            boolean staged) throws IOException {
        if (!staged) {
            DataType carrier = dtype.djlSafe() ? dtype.djl() : DataType.FLOAT16;
            NDArray dst = manager.create(new Shape(shape), carrier);
            try {
                fill(channel, position, dst, dtype);
                if (!dtype.djlSafe()) {
                    NDArray typed = Torch.viewAs(dst, dtype);
                    dst.close();
                    dst = typed;
                }
                return dst;
            } catch (IOException | RuntimeException e) {
                dst.close();
                throw e;
            }
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            NDArray staging = Transfers.emptyHost(host, dtype, shape);
            fill(channel, position, staging, dtype);
            return Transfers.upload(staging, manager);
        }
    }

    /** Reads {@code numel * dtype.bytes()} bytes at {@code position} into the CPU tensor {@code dst}, piece by piece. */
    private static void fill(FileChannel channel, long position, NDArray dst, ScalarType dtype) throws IOException {
        long len = Math.multiplyExact(dst.getShape().size(), (long) dtype.bytes());
        if (len > 0) {
            long addr = Torch.dataPointer(dst);
            for (long off = 0; off < len; off += piece) {
                int n = (int) Math.min(piece, len - off);
                readFully(channel, new Pointer(addr + off).getByteBuffer(0, n), position + off);
            }
        }
    }

    /**
     * Writes the bytes of {@code tensor} at the channel's current position (copied to the CPU first when
     * it lives elsewhere, made contiguous first when it is a strided view); returns the bytes written.
     */
    public static long write(FileChannel channel, NDArray tensor) throws IOException {
        if (!Device.Type.CPU.equals(tensor.getDevice().getDeviceType())) {
            try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                return write(channel, Torch.toDevice(tensor, cpu, Torch.dtype(tensor)));
            }
        }
        NDArray dense = Torch.contiguous(tensor);
        try {
            long len = Math.multiplyExact(dense.getShape().size(), (long) Torch.dtype(dense).bytes());
            if (len > 0) {
                long addr = Torch.dataPointer(dense);
                for (long off = 0; off < len; off += piece) {
                    int n = (int) Math.min(piece, len - off);
                    writeAll(channel, new Pointer(addr + off).getByteBuffer(0, n));
                }
            }
            return len;
        } finally {
            if (dense != tensor) {
                dense.close();
            }
        }
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code position}; end of file is an IOException. */
    public static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    /** Writes all of {@code b} at the channel's position. */
    public static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
