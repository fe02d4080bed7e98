package dev.merv.core.train.nccl;

import dev.merv.core.torch.Cuda;

/**
 * Where one rank's collective work is queued: the current CUDA stream of its device on the calling
 * thread (so that it is ordered after the kernels that produced its buffers and before those that
 * read the results, with no host synchronisation), entered under a guard for that device.
 */
public interface DeviceStreams {

    /** The calling thread's current stream on {@code device} ({@code cudaStream_t} as an address; 0 = legacy default). */
    long currentStream(int device);

    /** Makes {@code device} current on the calling thread until closed. */
    AutoCloseable guard(int device);

    /** libtorch's CUDA streams and guards ({@link Cuda}). */
    static DeviceStreams cuda() {
        return new DeviceStreams() {
            @Override
            public long currentStream(int device) {
                return Cuda.currentStream(device);
            }

            @Override
            public AutoCloseable guard(int device) {
                return Cuda.guard(device);
            }
        };
    }
}
