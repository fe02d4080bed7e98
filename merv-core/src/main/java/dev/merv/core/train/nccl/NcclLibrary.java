package dev.merv.core.train.nccl;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The part of NCCL's C API ({@code nccl.h}, NCCL 2.10 or later) that merv calls, as a JNA interface
 * mapping so that a test can stand in for the library. Every function returns an
 * {@code ncclResult_t} (0 = success) except the two that return strings; {@code size_t} counts are
 * {@code long} (LP64), communicators and CUDA streams are opaque pointers, buffers are device
 * addresses.
 */
public interface NcclLibrary extends Library {

    /** {@code ncclGetVersion(int*)}: {@code major*10000 + minor*100 + patch} since 2.9. */
    int ncclGetVersion(IntByReference version);

    String ncclGetErrorString(int result);

    /** The last error message NCCL logged for {@code comm} (any communicator, or null); NCCL 2.13+. */
    String ncclGetLastError(Pointer comm);

    /** {@code ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist)}: one communicator per local GPU. */
    int ncclCommInitAll(Pointer comms, int ndev, int[] devlist);

    int ncclCommDestroy(Pointer comm);

    int ncclCommAbort(Pointer comm);

    int ncclCommGetAsyncError(Pointer comm, IntByReference asyncError);

    int ncclGroupStart();

    int ncclGroupEnd();

    int ncclAllReduce(Pointer sendbuff, Pointer recvbuff, long count, int datatype, int op, Pointer comm,
            Pointer stream);

    int ncclReduceScatter(Pointer sendbuff, Pointer recvbuff, long recvcount, int datatype, int op, Pointer comm,
            Pointer stream);

    int ncclAllGather(Pointer sendbuff, Pointer recvbuff, long sendcount, int datatype, Pointer comm, Pointer stream);

    int ncclBroadcast(Pointer sendbuff, Pointer recvbuff, long count, int datatype, int root, Pointer comm,
            Pointer stream);
}
