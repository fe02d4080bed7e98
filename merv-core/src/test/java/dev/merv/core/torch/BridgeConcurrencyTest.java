package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two threads driving the bridge at once (forward and backward through bf16 casts, SDPA,
 * cross-entropy) get bit-identical losses and gradients to the same work done by one thread alone.
 */
class BridgeConcurrencyTest {

    static final int STEPS = 150;

    /** One replica's work: STEPS forward+backward passes; returns the final losses and gradient. */
    @SuppressWarnings("try") // the scope only switches grad mode
    private static float[] replica(NDManager base, float[] qv, float[] wv, long[] tg, CyclicBarrier start) throws Exception {
        try (NDManager m = base.newSubManager(); Torch.GradMode g = Torch.withGrad()) {
            NDArray q = m.create(qv, new Shape(1, 2, 8, 16));
            NDArray w = m.create(wv, new Shape(16, 16));
            w.setRequiresGradient(true);
            NDArray target = m.create(tg);
            if (start != null) {
                start.await();
            }
            float lossSum = 0;
            for (int i = 0; i < STEPS; i++) {
                try (NDManager s = m.newSubManager()) {
                    q.tempAttach(s);
                    w.tempAttach(s);
                    target.tempAttach(s);
                    NDArray x = Torch.matmul(Torch.to(q, ScalarType.BFLOAT16), Torch.to(w, ScalarType.BFLOAT16));
                    NDArray a = Torch.sdpa(x, x, x, null, true);
                    NDArray logits = Torch.to(Torch.silu(a), ScalarType.FLOAT32).reshape(16, 16);
                    NDArray loss = Torch.crossEntropy(logits, target, Torch.Reduction.MEAN, -100);
                    lossSum += loss.getFloat();
                    JniUtils.backward((PtNDArray) loss, (PtNDArray) s.ones(loss.getShape()), false, false);
                }
            }
            NDArray grad = w.getGradient();
            float[] gv = grad.toFloatArray();
            float[] out = new float[gv.length + 1];
            System.arraycopy(gv, 0, out, 0, gv.length);
            out[gv.length] = lossSum;
            return out;
        }
    }

    @Test
    void twoThreadsMatchOneThread() throws Exception {
        Random r = Bridged.random("concurrency");
        float[][] qs = new float[2][2 * 8 * 16];
        float[][] ws = new float[2][16 * 16];
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < qs[t].length; i++) {
                qs[t][i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < ws[t].length; i++) {
                ws[t][i] = (float) r.nextGaussian() * 0.3f;
            }
        }
        long[] tg = new long[16];
        for (int i = 0; i < 16; i++) {
            tg[i] = i % 5 == 0 ? -100 : r.nextInt(16);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (NDManager base = NDManager.newBaseManager()) {
            List<float[]> alone = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int tt = t;
                alone.add(pool.submit(() -> replica(base, qs[tt], ws[tt], tg, null)).get());
            }
            CyclicBarrier start = new CyclicBarrier(2);
            List<Future<float[]>> together = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int tt = t;
                together.add(pool.submit(() -> replica(base, qs[tt], ws[tt], tg, start)));
            }
            for (int t = 0; t < 2; t++) {
                Bridged.assertExactly("replica " + t + " gradient and loss sum, concurrent vs alone",
                        together.get(t).get(), alone.get(t));
            }
            assertThat(alone.get(0)).as("the replicas had different inputs").isNotEqualTo(alone.get(1));
        } finally {
            pool.shutdownNow();
        }
    }
}
