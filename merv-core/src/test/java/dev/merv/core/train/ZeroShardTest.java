package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.ReplicaThreads;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One replica's optimizer share with two replica threads: masters loaded from the parameters, gradients
 * reduce-scattered to their owners (in the reduce dtype) and accumulated in fp32 over micro-batches, which
 * parameters got a gradient anywhere, the AdamW step on the owned pieces (none for a parameter without a
 * gradient), the all-gather of the new compute-dtype weights, and the masters gathered back in fp32.
 */
class ZeroShardTest {

    static final int REPLICAS = 2;
    /** Three trainable tensors: a weight (decay), a bias and one that never gets a gradient (no decay group). */
    static final List<String> NAMES = List.of("w", "b", "dead.weight");
    static final List<long[]> SHAPES = List.of(new long[] {3, 2}, new long[] {3}, new long[] {2, 2});

    ReplicaThreads pool;
    NDManager m;

    @BeforeEach
    void setUp() {
        pool = new ReplicaThreads(REPLICAS, 60);
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

    static float initial(int tensor, int i) {
        return 0.1f * (tensor + 1) + 0.01f * i;
    }

    /** The same initial parameters on every replica, in {@code dtype}. */
    static List<Param> params(NDManager m, ScalarType dtype) {
        List<Param> ps = new ArrayList<>();
        for (int t = 0; t < NAMES.size(); t++) {
            Param p = new Param(NAMES.get(t), SHAPES.get(t));
            float[] v = new float[(int) p.numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = initial(t, i);
            }
            p.set(Torch.to(m.create(v, p.shape()), dtype));
            ps.add(p);
        }
        return ps;
    }

    /** Gives {@code w} and {@code b} the gradient {@code g[t][i]} (backward of sum(p * g)); {@code dead} gets none. */
    static void backward(NDManager m, List<Param> ps, float[][] g) {
        try (NDManager s = m.newSubManager(); var gm = Torch.withGrad()) {
            NDArray loss = null;
            for (int t = 0; t < 2; t++) {
                NDArray p = ps.get(t).get();
                NDArray c = Torch.to(s.create(g[t], ps.get(t).shape()), Torch.dtype(p));
                // summed in fp32: DJL's own ops must not see a bf16 dtype (its JNI aborts on one)
                NDArray term = Torch.to(p.mul(c), ScalarType.FLOAT32).sum();
                loss = loss == null ? term : loss.add(term);
            }
            JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
        }
    }

    /** Rank r's gradient of micro-batch k: {@code (r + 1) * (k + 1) * (i + 1) / 8}. */
    static float[][] grads(int rank, int micro) {
        float[][] g = new float[2][];
        for (int t = 0; t < 2; t++) {
            g[t] = new float[t == 0 ? 6 : 3];
            for (int i = 0; i < g[t].length; i++) {
                g[t][i] = (rank + 1) * (micro + 1) * (i + 1) / 8f;
            }
        }
        return g;
    }

    /** Accumulated owner gradients (fp32), gathered as full flat buckets, by tensor name. */
    static Map<String, float[]> accumulated(ZeroShard shard, Collective c, int rank, NDManager m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (FlatLayout.Bucket b : shard.layout().buckets()) {
            NDArray full = m.zeros(new Shape(b.padded()));
            c.allGather(rank, shard.gradAcc[b.index()], full);
            float[] v = full.toFloatArray();
            for (FlatLayout.Entry e : b.entries()) {
                out.put(e.name(), java.util.Arrays.copyOfRange(v, (int) e.offset(), (int) (e.offset() + e.numel())));
            }
        }
        return out;
    }

    @Test
    void gradientsReachTheirOwnersSummedOverReplicasAndMicroBatchesInFp32() throws Exception {
        FlatLayout layout = FlatLayout.build(NAMES, SHAPES, REPLICAS, 1000);
        InProcessCollective c = new InProcessCollective(REPLICAS);
        List<Map<String, float[]>> acc = onAll(r -> {
            NDManager rm = m.newSubManager();
            List<Param> ps = params(rm, ScalarType.FLOAT32);
            ZeroShard shard = new ZeroShard(r, layout, rm, ScalarType.FLOAT32, ScalarType.FLOAT32);
            shard.loadMastersFrom(ps);
            shard.beginStep();
            for (int micro = 0; micro < 2; micro++) {
                backward(rm, ps, grads(r, micro));
                shard.accumulate(ps, c);
                for (int t = 0; t < 2; t++) {
                    try (NDArray g = ps.get(t).get().getGradient()) {
                        assertThat(g.toFloatArray()).as("the parameter's own gradient is zeroed for the next micro-batch")
                                .containsOnly(0f);
                    }
                }
            }
            shard.agreeOnGradients(c);
            assertThat(shard.hasGrad).containsExactly(true, true, false);
            return accumulated(shard, c, r, rm);
        });
        for (Map<String, float[]> a : acc) {
            // sum over ranks r = 0, 1 and micro-batches k = 0, 1 of (r+1)(k+1)(i+1)/8 = 3 * 3 * (i+1) / 8
            for (String n : List.of("w", "b")) {
                float[] v = a.get(n);
                for (int i = 0; i < v.length; i++) {
                    assertThat(v[i]).as("%s[%d]", n, i).isEqualTo(9f * (i + 1) / 8f);
                }
            }
            assertThat(a.get("dead.weight")).containsOnly(0f);
        }
    }

    /**
     * {@code reduce_in_full_precision}: bf16 gradients summed across replicas in bf16 (the reference's default) round
     * {@code 1 + 2^-9} to 1; in fp32 they keep it. Accumulation over micro-batches is fp32 either way.
     */
    @Test
    void theReduceDtypeDecidesTheCrossReplicaSum() throws Exception {
        FlatLayout layout = FlatLayout.build(NAMES, SHAPES, REPLICAS, 1000);
        for (ScalarType reduce : new ScalarType[] {ScalarType.BFLOAT16, ScalarType.FLOAT32}) {
            InProcessCollective c = new InProcessCollective(REPLICAS);
            List<Map<String, float[]>> acc = onAll(r -> {
                NDManager rm = m.newSubManager();
                List<Param> ps = params(rm, ScalarType.BFLOAT16);
                ZeroShard shard = new ZeroShard(r, layout, rm, ScalarType.BFLOAT16, reduce);
                assertThat(shard.reduceType()).isEqualTo(reduce);
                shard.beginStep();
                float[][] g = {new float[6], new float[3]};
                java.util.Arrays.fill(g[0], r == 0 ? 1f : (float) Math.pow(2, -9));
                java.util.Arrays.fill(g[1], r == 0 ? 1f : (float) Math.pow(2, -9));
                backward(rm, ps, g);
                shard.accumulate(ps, c);
                // a second micro-batch adds 2^-9 on both ranks: 2^-8 in total, which fp32 accumulation keeps
                g[0] = new float[6];
                g[1] = new float[3];
                java.util.Arrays.fill(g[0], (float) Math.pow(2, -9));
                java.util.Arrays.fill(g[1], (float) Math.pow(2, -9));
                backward(rm, ps, g);
                shard.accumulate(ps, c);
                return accumulated(shard, c, r, rm);
            });
            float crossReplica = reduce == ScalarType.BFLOAT16 ? 1f : 1f + (float) Math.pow(2, -9);
            float want = crossReplica + (float) Math.pow(2, -8);
            for (Map<String, float[]> a : acc) {
                assertThat(a.get("w")).as("reduced in %s", reduce).containsOnly(want);
                assertThat(a.get("b")).as("reduced in %s", reduce).containsOnly(want);
            }
        }
        TrainConfig t = new TrainConfig();
        assertThat(t.reduceInFullPrecision).as("the reference's default").isFalse();
        assertThat(t.reduceType()).isEqualTo(ScalarType.BFLOAT16);
        t.reduceInFullPrecision = true;
        assertThat(t.reduceType()).isEqualTo(ScalarType.FLOAT32);
        t.reduceInFullPrecision = false;
        t.precision = dev.merv.core.model.Precision.FP32;
        assertThat(t.reduceType()).as("fp32 compute reduces in fp32").isEqualTo(ScalarType.FLOAT32);
    }

    /**
     * The AdamW step on the owned pieces (against the update written out here for step 1: {@code p - lr * sign(g)}
     * after decay, since {@code m / sqrt(v)} is {@code g / |g|}), no step for the tensor without a gradient, the new
     * weights all-gathered into fresh compute-dtype tensors, and the masters gathered back in fp32.
     */
    @Test
    void stepPublishAndGatherMasters() throws Exception {
        FlatLayout layout = FlatLayout.build(NAMES, SHAPES, REPLICAS, 1000);
        InProcessCollective c = new InProcessCollective(REPLICAS);
        double lr = 0.01;
        double wd = 0.5;
        List<Map<String, float[]>> results = onAll(r -> {
            NDManager rm = m.newSubManager();
            List<Param> ps = params(rm, ScalarType.FLOAT32);
            ZeroShard shard = new ZeroShard(r, layout, rm, ScalarType.FLOAT32, ScalarType.FLOAT32);
            shard.loadMastersFrom(ps);
            shard.beginStep();
            backward(rm, ps, grads(r, 0));
            shard.accumulate(ps, c);
            shard.agreeOnGradients(c);
            double local;
            try (NDArray n = shard.localSquaredNorm(rm)) {
                local = n.getDouble();
            }
            double sq = c.allReduceSum(r, new double[] {local})[0];
            shard.step(new AdamW(0.9, 0.999, 1e-8), lr, wd);
            NDArray oldW = ps.get(0).get();
            NDManager weights = rm.newSubManager();
            shard.publish(ps, c, weights);
            assertThat(ps.get(0).get()).as("a fresh tensor").isNotSameAs(oldW);
            assertThat(JniUtils.getGradient((PtNDArray) ps.get(0).get())).as("its gradient starts undefined").isNull();
            assertThat(ps.get(0).get().hasGradient()).as("and it trains").isTrue();
            Map<String, float[]> out = new LinkedHashMap<>();
            for (int t = 0; t < NAMES.size(); t++) {
                out.put("published." + NAMES.get(t), ps.get(t).get().toFloatArray());
            }
            shard.gatherMasters(c, (e, v) -> out.put("master." + e.name(), v.toFloatArray()));
            out.put("norm", new float[] {(float) Math.sqrt(sq)});
            return out;
        });
        double sq = 0;
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < SHAPES.get(t)[0] * (t == 0 ? 2 : 1); i++) {
                double g = 3 * (i + 1) / 8.0;
                sq += g * g;
            }
        }
        for (Map<String, float[]> out : results) {
            assertThat(out.get("norm")[0]).isCloseTo((float) Math.sqrt(sq), org.assertj.core.data.Offset.offset(1e-5f));
            for (int t = 0; t < NAMES.size(); t++) {
                String n = NAMES.get(t);
                float[] pub = out.get("published." + n);
                float[] master = out.get("master." + n);
                assertThat(pub).as("published %s = its master", n).containsExactly(master);
                for (int i = 0; i < master.length; i++) {
                    double p0 = initial(t, i);
                    double want;
                    if (t == 2) {
                        want = p0; // no gradient anywhere: no decay, no step
                    } else {
                        boolean decays = DecayGroups.decays(n, SHAPES.get(t));
                        want = p0 * (1 - lr * (decays ? wd : 0)) - lr;
                    }
                    assertThat((double) master[i]).as("%s[%d] after one step", n, i)
                            .isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6));
                }
            }
        }
    }
}
