package dev.merv.core.train.nccl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.Cuda;
import dev.merv.core.train.Collective;
import dev.merv.core.train.Collectives;
import dev.merv.core.train.Devices;
import dev.merv.core.train.InProcessCollective;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The real NCCL on every GPU libtorch sees, for the GPU kit (skipped where there is none): the
 * trainer's sequence of collective calls ({@link NcclCollectiveTest#sequence}) through
 * {@code libnccl.so.2}, one thread per GPU, against the in-process collective on the same GPUs.
 * With one GPU the collective is trivial but every binding (library lookup, ncclCommInitAll, streams,
 * device pointers, dtype codes) is exercised on the hardware.
 */
class NcclCollectiveGpuTest {

    @Test
    void ncclOnEveryGpuAgreesWithTheInProcessCollective() throws Exception {
        Assumptions.assumeTrue(Cuda.deviceCount() > 0, "no CUDA device: " + Cuda.describe());
        List<Device> gpus = Devices.parse("gpu");
        Collective nccl = Collectives.forDevices(gpus, "nccl");
        assertThat(nccl).isInstanceOf(NcclCollective.class);
        System.out.println("NCCL " + ((NcclCollective) nccl).ncclVersion() + " on " + gpus);
        try (nccl) {
            List<NcclCollectiveTest.Outcome> got = run(nccl, gpus);
            List<NcclCollectiveTest.Outcome> want = run(new InProcessCollective(gpus.size()), gpus);
            for (int r = 0; r < gpus.size(); r++) {
                NcclCollectiveTest.Outcome a = got.get(r);
                NcclCollectiveTest.Outcome b = want.get(r);
                assertThat(a.broadcast()).as("broadcast, rank %d", r).containsExactly(b.broadcast());
                assertThat(a.gathered()).as("bf16 all-gather, rank %d", r).containsExactly(b.gathered());
                assertClose(a.scattered(), b.scattered(), "reduce-scatter, rank " + r);
                assertClose(a.allReduced(), b.allReduced(), "all-reduce, rank " + r);
                assertThat(a.host()).containsExactly(b.host());
            }
        }
    }

    /** NCCL may sum in another order than rank order: fp32 rounding only. */
    private static void assertClose(float[] a, float[] b, String what) {
        assertThat(a).as(what).hasSameSizeAs(b);
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(a[i] - b[i])).as("%s, element %d", what, i).isLessThanOrEqualTo(1e-5f * (1 + Math.abs(b[i])));
        }
    }

    private static List<NcclCollectiveTest.Outcome> run(Collective c, List<Device> gpus) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(gpus.size());
        try {
            List<Future<NcclCollectiveTest.Outcome>> fs = new ArrayList<>();
            for (int r = 0; r < gpus.size(); r++) {
                final int rank = r;
                fs.add(threads.submit(() -> {
                    try (NDManager m = NDManager.newBaseManager(gpus.get(rank))) {
                        return NcclCollectiveTest.sequence(c, rank, m, 11);
                    }
                }));
            }
            List<NcclCollectiveTest.Outcome> out = new ArrayList<>();
            for (Future<NcclCollectiveTest.Outcome> f : fs) {
                out.add(f.get(120, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            threads.shutdownNow();
        }
    }
}
