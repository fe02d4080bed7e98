package dev.merv.core.train.nccl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Collective;
import dev.merv.core.train.InProcessCollective;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@link Collective} over NCCL for replicas that are threads of one JVM, one GPU each: one
 * communicator per GPU from {@code ncclCommInitAll}, and every rank's calls made by that rank's own
 * thread on its device's current torch CUDA stream. The calls only queue work: the reduction runs
 * on the GPUs in stream order after the kernels that wrote the buffers and before the ones that read
 * them, so no replica waits on the host for another (NCCL's one-thread-per-GPU use; no
 * {@code ncclGroupStart/End} is needed since no thread drives two communicators).
 *
 * <p>Buffers must be 1-D, contiguous and on the rank's device; sums are NCCL's (ring or tree order, so
 * fp32 results can differ from the in-process collective's rank-order sums in the last bits). The
 * host-side scalar reduction and the barrier stay on the host, as in {@link InProcessCollective}:
 * they carry a handful of numbers once per step. {@link #abort()} aborts the communicators, so that a
 * replica waiting on the GPU for a failed one is released too.
 */
public final class NcclCollective implements Collective {

    private final NcclLibrary nccl;
    private final List<Device> devices;
    private final int[] ordinals;
    private final Pointer[] comms;
    private final DeviceStreams streams;
    private final InProcessCollective host;
    private final int version;
    private volatile boolean aborted;
    private volatile boolean closed;

    private NcclCollective(NcclLibrary nccl, List<Device> devices, int[] ordinals, Pointer[] comms,
            DeviceStreams streams, int version) {
        this.nccl = nccl;
        this.devices = List.copyOf(devices);
        this.ordinals = ordinals;
        this.comms = comms;
        this.streams = streams;
        this.host = new InProcessCollective(devices.size());
        this.version = version;
    }

    /**
     * One communicator per GPU in {@code devices} (rank = position), with the system's NCCL found as
     * {@link Nccl} describes and libtorch's CUDA streams. Fails with an {@link NcclException} naming
     * what is missing (the library, a device) before any training starts.
     */
    public static NcclCollective create(List<Device> devices) {
        for (Device d : devices) {
            if (!d.isGpu()) {
                throw new IllegalArgumentException("the NCCL collective needs GPU replicas, got " + devices);
            }
        }
        java.nio.file.Path torchLib = java.nio.file.Path.of(Torch.library()).getParent();
        NcclLibrary lib = Nccl.load(Nccl.candidates(torchLib, Nccl.override()));
        return create(devices, lib, DeviceStreams.cuda());
    }

    /**
     * As {@link #create(List)} with a given library and stream source (tests stand in for both; there
     * CPU devices may stand for GPUs, rank {@code r} playing device ordinal {@code r}).
     */
    public static NcclCollective create(List<Device> devices, NcclLibrary nccl, DeviceStreams streams) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("the NCCL collective needs at least one device");
        }
        int n = devices.size();
        int[] ordinals = new int[n];
        Set<Device> seen = new HashSet<>();
        for (int r = 0; r < n; r++) {
            Device d = devices.get(r);
            if (d.isGpu() && !seen.add(d)) {
                throw new IllegalArgumentException("the NCCL collective needs one rank per device; " + d
                        + " appears twice in " + devices);
            }
            ordinals[r] = d.isGpu() ? d.getDeviceId() : r;
        }
        int version = Nccl.requireVersion(nccl, "the loaded NCCL");
        Memory out = new Memory((long) Native.POINTER_SIZE * n);
        out.clear();
        Nccl.check(nccl, nccl.ncclCommInitAll(out, n, ordinals.clone()), "ncclCommInitAll(" + devices + ")", null);
        Pointer[] comms = new Pointer[n];
        for (int r = 0; r < n; r++) {
            comms[r] = out.getPointer((long) r * Native.POINTER_SIZE);
            if (comms[r] == null) {
                throw new NcclException("ncclCommInitAll", 0, "ncclCommInitAll returned success but no communicator for rank "
                        + r + " (" + devices.get(r) + ")");
            }
        }
        return new NcclCollective(nccl, devices, ordinals, comms, streams, version);
    }

    /** The NCCL version in use, e.g. {@code 2.27.3}. */
    public String ncclVersion() {
        return Nccl.versionString(version);
    }

    @Override
    public int size() {
        return devices.size();
    }

    @Override
    public void allReduceSum(int rank, NDArray buf) {
        long n = length(buf, "allReduceSum buffer");
        int dt = Nccl.dataType(Torch.dtype(buf), true);
        Pointer p = address(rank, buf, "allReduceSum buffer");
        call(rank, "ncclAllReduce", (comm, stream) -> nccl.ncclAllReduce(p, p, n, dt, Nccl.SUM, comm, stream));
    }

    @Override
    public double[] allReduceSum(int rank, double[] values) {
        return host.allReduceSum(rank, values);
    }

    @Override
    public void reduceScatterSum(int rank, NDArray input, NDArray output) {
        long k = length(output, "reduceScatter output");
        long in = length(input, "reduceScatter input");
        if (in != k * size()) {
            throw new IllegalArgumentException("reduceScatter: input has " + in + " elements, expected " + size()
                    + " x " + k);
        }
        int dt = Nccl.dataType(sameType(input, output, "reduceScatter"), true);
        Pointer send = address(rank, input, "reduceScatter input");
        Pointer recv = address(rank, output, "reduceScatter output");
        call(rank, "ncclReduceScatter", (comm, stream) -> nccl.ncclReduceScatter(send, recv, k, dt, Nccl.SUM, comm, stream));
    }

    @Override
    public void allGather(int rank, NDArray input, NDArray output) {
        long k = length(input, "allGather input");
        long out = length(output, "allGather output");
        if (out != k * size()) {
            throw new IllegalArgumentException("allGather: output has " + out + " elements, expected " + size()
                    + " x " + k);
        }
        int dt = Nccl.dataType(sameType(input, output, "allGather"), false);
        Pointer send = address(rank, input, "allGather input");
        Pointer recv = address(rank, output, "allGather output");
        call(rank, "ncclAllGather", (comm, stream) -> nccl.ncclAllGather(send, recv, k, dt, comm, stream));
    }

    @Override
    public void broadcast(int rank, NDArray buf, int root) {
        if (root < 0 || root >= size()) {
            throw new IllegalArgumentException("broadcast: root " + root + " is not a rank of " + size());
        }
        long n = length(buf, "broadcast buffer");
        int dt = Nccl.dataType(Torch.dtype(buf), false);
        Pointer p = address(rank, buf, "broadcast buffer");
        call(rank, "ncclBroadcast", (comm, stream) -> nccl.ncclBroadcast(p, p, n, dt, root, comm, stream));
    }

    @Override
    public void barrier(int rank) {
        host.barrier(rank);
    }

    @Override
    public void abort() {
        host.abort();
        synchronized (this) {
            if (aborted || closed) {
                return;
            }
            aborted = true;
        }
        for (Pointer c : comms) {
            nccl.ncclCommAbort(c); // best effort: the failure being handled is what the caller reports
        }
    }

    /** Destroys the communicators (after the work queued on them; aborted ones are already gone). */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (aborted) {
                return;
            }
        }
        List<String> errors = new ArrayList<>();
        for (int r = 0; r < comms.length; r++) {
            try {
                Nccl.check(nccl, nccl.ncclCommDestroy(comms[r]), "ncclCommDestroy(rank " + r + ")", comms[r]);
            } catch (NcclException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new NcclException("ncclCommDestroy", 0, String.join("; ", errors));
        }
    }

    /** One NCCL function call for one rank, on its device's current stream. */
    private interface RankCall {
        int invoke(Pointer comm, Pointer stream);
    }

    private void call(int rank, String function, RankCall c) {
        String label = function + "(rank " + rank + ", " + devices.get(rank) + ")";
        if (aborted || closed) {
            throw new NcclException(label, 0, label + ": the collective was " + (aborted ? "aborted (a replica failed)" : "closed"));
        }
        int device = ordinals[rank];
        try (AutoCloseable g = streams.guard(device)) {
            long s = streams.currentStream(device);
            int rc = c.invoke(comms[rank], s == 0 ? null : new Pointer(s));
            Nccl.check(nccl, rc, label, comms[rank]);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(label + ": releasing the device guard failed", e);
        }
    }

    private Pointer address(int rank, NDArray x, String what) {
        if (!x.getDevice().equals(devices.get(rank))) {
            throw new IllegalArgumentException(what + " of rank " + rank + " is on " + x.getDevice() + ", the rank's device is "
                    + devices.get(rank));
        }
        return new Pointer(Torch.flatAddress(x));
    }

    private static long length(NDArray x, String what) {
        if (x.getShape().dimension() != 1) {
            throw new IllegalArgumentException(what + " must be 1-D, got shape " + x.getShape());
        }
        return x.getShape().get(0);
    }

    private static ScalarType sameType(NDArray a, NDArray b, String op) {
        ScalarType t = Torch.dtype(a);
        ScalarType u = Torch.dtype(b);
        if (t != u) {
            throw new IllegalArgumentException(op + ": input is " + t + ", output " + u + " (NCCL does not cast)");
        }
        return t;
    }
}
