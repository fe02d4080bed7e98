package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.testing.ReplicaThreads;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The in-process collective: each operation with three replica threads, sums in rank order, abort. */
class InProcessCollectiveTest {

    static final int N = 3;
    ReplicaThreads pool;
    NDManager m;

    @BeforeEach
    void setUp() {
        pool = new ReplicaThreads(N, 30);
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        pool.close();
        m.close();
    }

    <T> List<T> onAll(IntFunction<T> body) throws Exception {
        return pool.onAll(body);
    }

    /** Rank r's array: {@code r * 10 + i} for i in [0, n). */
    NDArray ramp(int rank, int n, ScalarType t) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rank * 10 + i;
        }
        return Torch.to(m.create(v), t);
    }

    @Test
    void everyOperationOnThreeReplicas() throws Exception {
        InProcessCollective c = new InProcessCollective(N);
        assertThat(c.size()).isEqualTo(N);
        // all-reduce: 0+10+20 + 3i
        List<float[]> sums = onAll(r -> {
            NDArray b = ramp(r, 4, ScalarType.FLOAT32);
            c.allReduceSum(r, b);
            return b.toFloatArray();
        });
        for (float[] s : sums) {
            assertThat(s).containsExactly(30f, 33f, 36f, 39f);
        }
        List<double[]> host = onAll(r -> c.allReduceSum(r, new double[] {r, 1}));
        host.forEach(h -> assertThat(h).containsExactly(3.0, 3.0));
        // reduce-scatter: rank r gets elements [2r, 2r+2) summed
        List<float[]> pieces = onAll(r -> {
            NDArray out = m.zeros(new ai.djl.ndarray.types.Shape(2));
            c.reduceScatterSum(r, ramp(r, 6, ScalarType.FLOAT32), out);
            return out.toFloatArray();
        });
        for (int r = 0; r < N; r++) {
            assertThat(pieces.get(r)).containsExactly(30f + 6 * r, 33f + 6 * r);
        }
        // all-gather: the concatenation of every rank's input
        List<float[]> gathered = onAll(r -> {
            NDArray out = m.zeros(new ai.djl.ndarray.types.Shape(2 * N));
            c.allGather(r, ramp(r, 2, ScalarType.FLOAT32), out);
            return out.toFloatArray();
        });
        gathered.forEach(g -> assertThat(g).containsExactly(0f, 1f, 10f, 11f, 20f, 21f));
        // broadcast from rank 2
        List<float[]> bc = onAll(r -> {
            NDArray b = ramp(r, 3, ScalarType.FLOAT32);
            c.broadcast(r, b, 2);
            return b.toFloatArray();
        });
        bc.forEach(b -> assertThat(b).containsExactly(20f, 21f, 22f));
        onAll(r -> {
            c.barrier(r);
            return null;
        });
    }

    /** A bf16 reduction sums in bf16 (as NCCL does): 1 + 2^-9 + 0 rounds back to 1, where fp32 keeps it. */
    @Test
    void sumsInTheArraysDtype() throws Exception {
        InProcessCollective c = new InProcessCollective(N);
        for (ScalarType t : new ScalarType[] {ScalarType.BFLOAT16, ScalarType.FLOAT32}) {
            List<float[]> out = onAll(r -> {
                float v = r == 0 ? 1f : r == 1 ? (float) Math.pow(2, -9) : 0f;
                NDArray in = Torch.to(m.create(new float[] {v, v, v}), t);
                NDArray o = Torch.to(m.zeros(new ai.djl.ndarray.types.Shape(1)), t);
                c.reduceScatterSum(r, in, o);
                assertThat(Torch.dtype(o)).isEqualTo(t);
                return Torch.toFloatArray(o);
            });
            float want = t == ScalarType.BFLOAT16 ? 1f : 1f + (float) Math.pow(2, -9);
            out.forEach(o -> assertThat(o).containsExactly(want));
        }
    }

    @Test
    void sizeMismatchesAndAbortAreNamed() throws Exception {
        InProcessCollective one = new InProcessCollective(1);
        assertThatThrownBy(() -> one.reduceScatterSum(0, m.zeros(new ai.djl.ndarray.types.Shape(3)),
                m.zeros(new ai.djl.ndarray.types.Shape(2)))).hasMessageContaining("reduceScatter").hasMessageContaining("1 x 2");
        assertThatThrownBy(() -> one.allGather(0, m.zeros(new ai.djl.ndarray.types.Shape(2)),
                m.zeros(new ai.djl.ndarray.types.Shape(3)))).hasMessageContaining("allGather");
        assertThatThrownBy(() -> new InProcessCollective(0)).hasMessageContaining(">= 1");
        // a replica waiting for others is released by abort() with an error
        InProcessCollective c = new InProcessCollective(2);
        Future<?> waiting = pool.submit(() -> c.barrier(0));
        Thread.sleep(200);
        c.abort();
        assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("another replica failed");
    }
}
