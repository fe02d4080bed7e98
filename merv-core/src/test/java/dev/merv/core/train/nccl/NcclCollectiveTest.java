package dev.merv.core.train.nccl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.Op;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Collective;
import dev.merv.core.train.InProcessCollective;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The NCCL collective up to the native boundary, on CPU: a {@link FakeNccl} that performs each call
 * on host memory from the addresses, counts, dtype codes and roots it is handed stands in for
 * {@code libnccl.so.2}, and CPU tensors stand in for device buffers. The same sequence of operations
 * the trainer makes (broadcast of fp32 weights, fp32 reduce-scatter of gradient buckets through slice
 * views, bf16 all-gather of new weights, fp32 all-reduce, host scalars) must give exactly what the
 * in-process collective gives, with every argument marshalled as nccl.h defines it.
 */
class NcclCollectiveTest {

    static final int RANKS = 3;
    static final Op SLICE = Op.of("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None,"
            + " SymInt? end=None, SymInt step=1) -> Tensor(a)");

    static NDManager root;
    static ExecutorService threads;

    @BeforeAll
    static void open() {
        root = NDManager.newBaseManager(Device.cpu());
        threads = Executors.newFixedThreadPool(RANKS);
    }

    @AfterAll
    static void close() {
        threads.shutdownNow();
        root.close();
    }

    /** Records the streams asked for and the guards opened, per device ordinal. */
    static final class RecordingStreams implements DeviceStreams {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());

        @Override
        public long currentStream(int device) {
            events.add("stream " + device);
            return 0xC0DE00L + device;
        }

        @Override
        public AutoCloseable guard(int device) {
            events.add("guard " + device);
            return () -> events.add("unguard " + device);
        }
    }

    static List<Device> cpus(int n) {
        List<Device> d = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            d.add(Device.cpu());
        }
        return d;
    }

    /** What one rank ends up with after the trainer-shaped sequence. */
    record Outcome(float[] broadcast, float[] scattered, float[] gathered, float[] allReduced, double[] host) {}

    /** The sequence ZeroShard and Replica make, on rank {@code r}'s own random data, in {@code m} (any device). */
    static Outcome sequence(Collective c, int r, NDManager m, long seed) {
        final int size = c.size();
        Random rnd = new Random(seed * 31 + r);
        int k = 5;
        // broadcast (Replica.initialise): every rank ends with rank 0's weights
        NDArray w = m.create(randoms(rnd, 7));
        c.broadcast(r, w, 0);
        // reduce-scatter (ZeroShard.accumulate): the bucket is a view at an offset of a larger buffer
        NDArray flat = m.create(randoms(rnd, size * k + 4));
        NDArray recv = m.zeros(new Shape(k + 2));
        NDArray full = SLICE.call(flat, 0L, 2L, 2L + size * k, 1L);
        NDArray got = SLICE.call(recv, 0L, 1L, 1L + k, 1L);
        c.reduceScatterSum(r, full, got);
        // all-gather in bf16 (ZeroShard.publish): the rank's piece cast to the compute dtype
        NDArray mine = Torch.copy(m.create(randoms(rnd, k)), ScalarType.BFLOAT16);
        NDArray gathered = Torch.copy(m.zeros(new Shape(size * k)), ScalarType.BFLOAT16);
        c.allGather(r, mine, gathered);
        NDArray summed = m.create(randoms(rnd, 4));
        c.allReduceSum(r, summed);
        double[] host = c.allReduceSum(r, new double[] {r + 0.5, 10.0 * r});
        return new Outcome(w.toFloatArray(), recv.toFloatArray(), Torch.toFloatArray(gathered), summed.toFloatArray(), host);
    }

    static float[] randoms(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    static List<Outcome> runAll(Collective c, long seed) throws Exception {
        List<Future<Outcome>> fs = new ArrayList<>();
        for (int r = 0; r < RANKS; r++) {
            final int rank = r;
            fs.add(threads.submit(() -> {
                try (NDManager m = root.newSubManager()) {
                    return sequence(c, rank, m, seed);
                }
            }));
        }
        List<Outcome> out = new ArrayList<>();
        for (Future<Outcome> f : fs) {
            out.add(f.get(60, TimeUnit.SECONDS));
        }
        return out;
    }

    @Test
    void sameResultsAsTheInProcessCollectiveWithNcclArguments() throws Exception {
        FakeNccl fake = new FakeNccl(RANKS, 22703);
        RecordingStreams streams = new RecordingStreams();
        NcclCollective nccl = NcclCollective.create(cpus(RANKS), fake, streams);
        assertThat(nccl.ncclVersion()).isEqualTo("2.27.3");
        assertThat(fake.initDevices).hasSize(1);
        assertThat(fake.initDevices.get(0)).containsExactly(0, 1, 2);

        List<Outcome> viaNccl = runAll(nccl, 7);
        List<Outcome> inProcess = runAll(new InProcessCollective(RANKS), 7);
        for (int r = 0; r < RANKS; r++) {
            Outcome a = viaNccl.get(r);
            Outcome b = inProcess.get(r);
            assertThat(a.broadcast()).as("broadcast, rank %d", r).containsExactly(b.broadcast());
            assertThat(a.broadcast()).as("broadcast gives rank 0's values").containsExactly(viaNccl.get(0).broadcast());
            assertThat(a.scattered()).as("reduce-scatter, rank %d", r).containsExactly(b.scattered());
            assertThat(a.scattered()[0]).as("slot before the view untouched").isZero();
            assertThat(a.scattered()[6]).as("slot after the view untouched").isZero();
            assertThat(a.gathered()).as("bf16 all-gather, rank %d", r).containsExactly(b.gathered());
            assertThat(a.allReduced()).as("all-reduce, rank %d", r).containsExactly(b.allReduced());
            assertThat(a.host()).containsExactly(0.5 + 1.5 + 2.5, 0 + 10 + 20);
        }

        // nccl.h's arguments: counts in elements (recvcount / sendcount), ncclFloat32 = 7,
        // ncclBfloat16 = 9, ncclSum = 0, the root, each rank's own stream
        for (int r = 0; r < RANKS; r++) {
            final int rank = r;
            List<FakeNccl.Call> mine = fake.calls.stream().filter(c -> c.rank() == rank).toList();
            assertThat(mine).extracting(FakeNccl.Call::function).containsExactly("ncclBroadcast", "ncclReduceScatter",
                    "ncclAllGather", "ncclAllReduce");
            assertThat(mine.get(0)).isEqualTo(new FakeNccl.Call("ncclBroadcast", r, 7, 7, -1, 0, 0xC0DE00L + r));
            assertThat(mine.get(1)).isEqualTo(new FakeNccl.Call("ncclReduceScatter", r, 5, 7, 0, -1, 0xC0DE00L + r));
            assertThat(mine.get(2)).isEqualTo(new FakeNccl.Call("ncclAllGather", r, 5, 9, -1, -1, 0xC0DE00L + r));
            assertThat(mine.get(3)).isEqualTo(new FakeNccl.Call("ncclAllReduce", r, 4, 7, 0, -1, 0xC0DE00L + r));
        }
        // each call runs under a guard for the rank's device, asked for that device's stream
        assertThat(streams.events.stream().filter(e -> e.equals("guard 1")).count()).isEqualTo(4);
        assertThat(streams.events.stream().filter(e -> e.equals("stream 2")).count()).isEqualTo(4);
        assertThat(streams.events.stream().filter(e -> e.startsWith("unguard")).count()).isEqualTo(12);

        nccl.close();
        assertThat(fake.destroyed).containsExactlyInAnyOrder(0, 1, 2);
        nccl.close();
        assertThat(fake.destroyed).hasSize(3);
        try (NDManager m = root.newSubManager()) {
            assertThatThrownBy(() -> nccl.allReduceSum(0, m.zeros(new Shape(3)))).hasMessageContaining("closed");
        }
    }

    @Test
    void errorCodesBecomeExceptionsNamingTheCall() {
        FakeNccl fake = new FakeNccl(1, 21903);
        NcclCollective nccl = NcclCollective.create(cpus(1), fake, new RecordingStreams());
        try (NDManager m = root.newSubManager()) {
            NDArray in = m.create(new float[] {1, 2});
            NDArray out = m.zeros(new Shape(2));
            fake.failNext("ncclAllGather", 4);
            assertThatThrownBy(() -> nccl.allGather(0, in, out)).isInstanceOf(NcclException.class)
                    .hasMessageContaining("ncclAllGather(rank 0, cpu())").hasMessageContaining("ncclInvalidArgument")
                    .hasMessageContaining("invalid argument").hasMessageContaining("fake NCCL: last error")
                    .extracting(e -> ((NcclException) e).result()).isEqualTo(4);
            fake.failNext("ncclReduceScatter", 1);
            assertThatThrownBy(() -> nccl.reduceScatterSum(0, in, out)).hasMessageContaining("ncclReduceScatter")
                    .hasMessageContaining("ncclUnhandledCudaError").hasMessageContaining("driver");
            // the collective still works after a failed call
            nccl.allGather(0, in, out);
            assertThat(out.toFloatArray()).containsExactly(1f, 2f);
        }
        nccl.close();
    }

    @Test
    void badBuffersAreRefusedBeforeNccl() {
        FakeNccl fake = new FakeNccl(2, 21903);
        NcclCollective nccl = NcclCollective.create(cpus(2), fake, new RecordingStreams());
        try (NDManager m = root.newSubManager()) {
            NDArray four = m.zeros(new Shape(4));
            NDArray three = m.zeros(new Shape(3));
            assertThatThrownBy(() -> nccl.reduceScatterSum(0, three, m.zeros(new Shape(2))))
                    .hasMessageContaining("input has 3 elements, expected 2 x 2");
            assertThatThrownBy(() -> nccl.allGather(0, four, three)).hasMessageContaining("output has 3 elements");
            assertThatThrownBy(() -> nccl.allGather(0, Torch.copy(m.zeros(new Shape(2)), ScalarType.BFLOAT16), four))
                    .hasMessageContaining("NCCL does not cast");
            assertThatThrownBy(() -> nccl.allReduceSum(0, m.zeros(new Shape(2, 2)))).hasMessageContaining("1-D");
            NDArray strided = SLICE.call(m.zeros(new Shape(8)), 0L, 0L, 8L, 2L);
            assertThatThrownBy(() -> nccl.allReduceSum(0, strided)).hasMessageContaining("contiguous");
            assertThatThrownBy(() -> nccl.allReduceSum(0, Torch.copy(four, ScalarType.INT16)))
                    .hasMessageContaining("NCCL has no sum over int16");
            assertThatThrownBy(() -> nccl.broadcast(0, four, 2)).hasMessageContaining("root 2");
        }
        assertThat(fake.calls).isEmpty();
        nccl.close();
    }

    @Test
    void setupFailuresAreClear() {
        assertThatThrownBy(() -> NcclCollective.create(cpus(2), new FakeNccl(2, 2708), new RecordingStreams()))
                .isInstanceOf(NcclException.class).hasMessageContaining("NCCL 2.7.8").hasMessageContaining("2.10");
        FakeNccl fake = new FakeNccl(2, 21903);
        fake.failNext("ncclCommInitAll", 1);
        assertThatThrownBy(() -> NcclCollective.create(cpus(2), fake, new RecordingStreams()))
                .hasMessageContaining("ncclCommInitAll").hasMessageContaining("ncclUnhandledCudaError");
        assertThatThrownBy(() -> NcclCollective.create(List.of(Device.gpu(0), Device.gpu(0)), fake, new RecordingStreams()))
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> NcclCollective.create(cpus(2))).hasMessageContaining("needs GPU replicas");
    }

    @Test
    void abortReleasesARankWaitingForAFailedPeer() throws Exception {
        FakeNccl fake = new FakeNccl(2, 21903);
        NcclCollective nccl = NcclCollective.create(cpus(2), fake, new RecordingStreams());
        Future<Throwable> waiting = threads.submit(() -> {
            try (NDManager m = root.newSubManager()) {
                nccl.allReduceSum(0, m.zeros(new Shape(3))); // rank 1 never comes
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        while (fake.calls.isEmpty()) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
        nccl.abort();
        Throwable t = waiting.get(30, TimeUnit.SECONDS);
        assertThat(t).isInstanceOf(NcclException.class).hasMessageContaining("ncclRemoteError");
        assertThat(fake.aborted).containsExactlyInAnyOrder(0, 1);
        try (NDManager m = root.newSubManager()) {
            assertThatThrownBy(() -> nccl.allReduceSum(1, m.zeros(new Shape(3)))).hasMessageContaining("aborted");
        }
        nccl.close();
        assertThat(fake.destroyed).as("aborted communicators are not destroyed again").isEmpty();
    }

    @Test
    void dtypeCodesAreNcclHs() {
        assertThat(Nccl.dataType(ScalarType.INT8, true)).isEqualTo(0);
        assertThat(Nccl.dataType(ScalarType.UINT8, true)).isEqualTo(1);
        assertThat(Nccl.dataType(ScalarType.INT32, true)).isEqualTo(2);
        assertThat(Nccl.dataType(ScalarType.INT64, true)).isEqualTo(4);
        assertThat(Nccl.dataType(ScalarType.FLOAT16, true)).isEqualTo(6);
        assertThat(Nccl.dataType(ScalarType.FLOAT32, true)).isEqualTo(7);
        assertThat(Nccl.dataType(ScalarType.FLOAT64, true)).isEqualTo(8);
        assertThat(Nccl.dataType(ScalarType.BFLOAT16, true)).isEqualTo(9);
        assertThat(Nccl.dataType(ScalarType.BOOL, false)).isEqualTo(1);
        assertThatThrownBy(() -> Nccl.dataType(ScalarType.BOOL, true)).hasMessageContaining("bool");
        assertThat(Nccl.versionString(22703)).isEqualTo("2.27.3");
        assertThat(Nccl.versionString(2708)).isEqualTo("2.7.8");
    }
}
