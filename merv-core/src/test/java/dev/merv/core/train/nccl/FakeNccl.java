package dev.merv.core.train.nccl;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;

/**
 * A stand-in for {@code libnccl.so.2} that does what NCCL does, on host memory, synchronously: each
 * rank's call publishes its arguments, all ranks meet, each computes its own result straight from the
 * addresses it was given (so a wrong pointer, count, dtype code or root shows up as wrong data), and
 * all meet again. Sums run in rank order in fp32. Every call is logged with its arguments.
 */
final class FakeNccl implements NcclLibrary {

    /** One logged call. */
    record Call(String function, int rank, long count, int datatype, int op, int root, long stream) {}

    private record Slot(long send, long recv, long count, int datatype, int op, int root) {}

    final int size;
    final int version;
    final List<Call> calls = Collections.synchronizedList(new ArrayList<>());
    final List<int[]> initDevices = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> aborted = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> destroyed = Collections.synchronizedList(new ArrayList<>());
    private final Slot[] slots;
    private final CyclicBarrier barrier;
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();

    FakeNccl(int size, int version) {
        this.size = size;
        this.version = version;
        this.slots = new Slot[size];
        this.barrier = new CyclicBarrier(size);
    }

    /** Makes the next call of {@code function} (any rank) return {@code rc}. */
    void failNext(String function, int rc) {
        failures.put(function, rc);
    }

    private static long comm(int rank) {
        return 0x7000L + rank * 16;
    }

    private int rankOf(Pointer comm) {
        long v = Pointer.nativeValue(comm);
        int r = (int) ((v - 0x7000L) / 16);
        if (r < 0 || r >= size || comm(r) != v) {
            throw new IllegalArgumentException("not a communicator of this fake: " + Long.toHexString(v));
        }
        return r;
    }

    private Integer injected(String function) {
        return failures.remove(function);
    }

    @Override
    public int ncclGetVersion(IntByReference v) {
        v.setValue(version);
        return 0;
    }

    @Override
    public String ncclGetErrorString(int result) {
        return result == 4 ? "invalid argument" : result == 1 ? "unhandled cuda error" : "fake error " + result;
    }

    @Override
    public String ncclGetLastError(Pointer comm) {
        return "fake NCCL: last error";
    }

    @Override
    public int ncclCommInitAll(Pointer comms, int ndev, int[] devlist) {
        Integer f = injected("ncclCommInitAll");
        if (f != null) {
            return f;
        }
        if (ndev != size) {
            return 4;
        }
        initDevices.add(devlist.clone());
        for (int r = 0; r < ndev; r++) {
            comms.setPointer((long) r * 8, new Pointer(comm(r)));
        }
        return 0;
    }

    @Override
    public int ncclCommDestroy(Pointer comm) {
        destroyed.add(rankOf(comm));
        return 0;
    }

    @Override
    public int ncclCommAbort(Pointer comm) {
        aborted.add(rankOf(comm));
        barrier.reset();
        return 0;
    }

    @Override
    public int ncclCommGetAsyncError(Pointer comm, IntByReference asyncError) {
        asyncError.setValue(0);
        return 0;
    }

    @Override
    public int ncclGroupStart() {
        return 0;
    }

    @Override
    public int ncclGroupEnd() {
        return 0;
    }

    @Override
    public int ncclAllReduce(Pointer send, Pointer recv, long count, int dt, int op, Pointer comm, Pointer stream) {
        return collective("ncclAllReduce", comm, stream, new Slot(addr(send), addr(recv), count, dt, op, -1), (r, all) -> {
            float[] sum = new float[(int) count];
            for (Slot s : all) {
                for (int i = 0; i < count; i++) {
                    sum[i] += read(s.send, i, dt);
                }
            }
            // in place (recv == send): written only once every rank has read
            return () -> {
                for (int i = 0; i < count; i++) {
                    write(all[r].recv, i, dt, sum[i]);
                }
            };
        });
    }

    @Override
    public int ncclReduceScatter(Pointer send, Pointer recv, long k, int dt, int op, Pointer comm, Pointer stream) {
        return collective("ncclReduceScatter", comm, stream, new Slot(addr(send), addr(recv), k, dt, op, -1), (r, all) -> {
            for (int i = 0; i < k; i++) {
                float acc = 0f;
                for (Slot s : all) {
                    acc += read(s.send, r * k + i, dt);
                }
                write(all[r].recv, i, dt, acc);
            }
            return null;
        });
    }

    @Override
    public int ncclAllGather(Pointer send, Pointer recv, long k, int dt, Pointer comm, Pointer stream) {
        return collective("ncclAllGather", comm, stream, new Slot(addr(send), addr(recv), k, dt, -1, -1), (r, all) -> {
            int bytes = bytes(dt);
            for (int j = 0; j < all.length; j++) {
                byte[] b = new Pointer(all[j].send).getByteArray(0, (int) (k * bytes));
                new Pointer(all[r].recv).write(j * k * bytes, b, 0, b.length);
            }
            return null;
        });
    }

    @Override
    public int ncclBroadcast(Pointer send, Pointer recv, long count, int dt, int root, Pointer comm, Pointer stream) {
        return collective("ncclBroadcast", comm, stream, new Slot(addr(send), addr(recv), count, dt, -1, root), (r, all) -> {
            if (r != root) {
                byte[] b = new Pointer(all[root].send).getByteArray(0, (int) (count * bytes(dt)));
                new Pointer(all[r].recv).write(0, b, 0, b.length);
            }
            return null;
        });
    }

    /** Computes rank {@code rank}'s result; what it returns (if anything) is written after every rank has read. */
    private interface Compute {
        Runnable run(int rank, Slot[] all);
    }

    private int collective(String fn, Pointer comm, Pointer stream, Slot mine, Compute compute) {
        int rank = rankOf(comm);
        calls.add(new Call(fn, rank, mine.count(), mine.datatype(), mine.op(), mine.root(), addr(stream)));
        Integer f = injected(fn);
        if (f != null) {
            return f;
        }
        if (mine.datatype() < 0 || mine.datatype() > 9) {
            return 4;
        }
        slots[rank] = mine;
        try {
            barrier.await();
            Runnable commit = compute.run(rank, slots.clone());
            barrier.await();
            if (commit != null) {
                commit.run();
                barrier.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 3;
        } catch (BrokenBarrierException e) {
            return 6; // a peer aborted: NCCL reports a remote error
        }
        return 0;
    }

    private static long addr(Pointer p) {
        return p == null ? 0 : Pointer.nativeValue(p);
    }

    private static int bytes(int dt) {
        switch (dt) {
            case 0: case 1: return 1;
            case 6: case 9: return 2;
            case 2: case 3: case 7: return 4;
            default: return 8;
        }
    }

    private static float read(long base, long i, int dt) {
        Pointer p = new Pointer(base);
        switch (dt) {
            case 7: return p.getFloat(i * 4);
            case 9: return Float.intBitsToFloat((p.getShort(i * 2) & 0xFFFF) << 16);
            default: throw new UnsupportedOperationException("fake sums fp32 and bf16 only, got dtype " + dt);
        }
    }

    private static void write(long base, long i, int dt, float v) {
        Pointer p = new Pointer(base);
        switch (dt) {
            case 7:
                p.setFloat(i * 4, v);
                break;
            case 9: {
                int bits = Float.floatToRawIntBits(v);
                int rounded = bits + 0x7FFF + ((bits >>> 16) & 1); // round to nearest even, as torch does
                p.setShort(i * 2, (short) (rounded >>> 16));
                break;
            }
            default:
                throw new UnsupportedOperationException("fake sums fp32 and bf16 only, got dtype " + dt);
        }
    }
}
