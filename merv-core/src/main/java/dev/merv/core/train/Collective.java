package dev.merv.core.train;

import ai.djl.ndarray.NDArray;

/**
 * Communication between data-parallel replicas (docs/architecture.md "Data parallelism"). Every replica calls
 * each operation with its own rank, in the same order; arrays are 1-D and of the same dtype on every
 * rank. Sums run in rank order so results are deterministic. The in-process implementation
 * ({@link InProcessCollective}) serves replicas that are threads of one JVM; the NCCL one
 * ({@link dev.merv.core.train.nccl.NcclCollective}) replicas on several GPUs; {@link Collectives#forDevices}
 * picks between them.
 */
public interface Collective extends AutoCloseable {

    /** Number of participating replicas. */
    int size();

    /** In place: {@code buf} becomes the element-wise sum over ranks. */
    void allReduceSum(int rank, NDArray buf);

    /** Host-side scalars summed over ranks (losses, token counts, squared norms). */
    double[] allReduceSum(int rank, double[] values);

    /** {@code output} ({@code k} elements) becomes the sum over ranks of slice {@code rank} of {@code input} ({@code size * k}). */
    void reduceScatterSum(int rank, NDArray input, NDArray output);

    /** {@code output} ({@code size * k}) becomes the concatenation of every rank's {@code input} ({@code k}). */
    void allGather(int rank, NDArray input, NDArray output);

    /** Every rank's {@code buf} becomes {@code root}'s. */
    void broadcast(int rank, NDArray buf, int root);

    void barrier(int rank);

    /** Releases every rank blocked in an operation with an exception (used when one replica failed). */
    void abort();

    /** Releases native resources (NCCL communicators); the in-process collective holds none. */
    @Override
    default void close() {}
}
