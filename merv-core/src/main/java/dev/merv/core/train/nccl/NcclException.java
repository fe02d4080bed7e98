package dev.merv.core.train.nccl;

/** An NCCL call that failed, or an NCCL that cannot be used; the message names the call and the reason. */
public final class NcclException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int result;

    NcclException(String call, int result, String message) {
        super(message);
        this.call = call;
        this.result = result;
    }

    /** The NCCL function (with its rank and device where one applies), e.g. {@code ncclAllGather(rank 1, gpu1)}. */
    public String call() {
        return call;
    }

    /** The {@code ncclResult_t} code, or -1 when no NCCL call returned one (the library is missing). */
    public int result() {
        return result;
    }
}
