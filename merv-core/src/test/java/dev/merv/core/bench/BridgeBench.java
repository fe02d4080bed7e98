package dev.merv.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Per-call cost of bridged ops against the equivalent DJL call, measured in the same run: small
 * tensors for call overhead (target: bridge at most 2x DJL's own call), a fused op against its DJL
 * composition, and SDPA fused against composed attention.
 *
 * <p>Run from the repository root (test classpath, so it does not ship):
 * <pre>
 * ./mvnw -q -pl merv-core test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=dev.merv.core.bench.BridgeBench [-Dexec.args="rounds calls"]
 * </pre>
 * Each row is the best of {@code rounds} rounds of {@code calls} calls (each result closed), after a
 * warm-up round; on a shared machine only the ratios are meaningful. libtorch runs one intra-op
 * thread unless {@code -Dai.djl.pytorch.num_threads=N} is given.
 */
public final class BridgeBench {

    private BridgeBench() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        // one intra-op thread unless told otherwise: per-call overhead is what is measured, and a
        // thread pool on a shared machine adds milliseconds of wake-up noise to 4x4 ops
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(new Shape(4, 4));
            NDArray b = m.randomNormal(new Shape(4, 4));
            System.out.printf("torch bridge per-call cost (CPU, %s; best of %d x %d calls, results closed)%n",
                    Torch.library(), rounds, calls);
            System.out.printf("%-44s %10s %10s %8s%n", "op (4x4 fp32 unless noted)", "DJL us", "bridge us", "ratio");
            row("mul", rounds, calls, () -> a.mul(b), () -> Torch.mul(a, b));
            row("matmul", rounds, calls, () -> a.matMul(b), () -> Torch.matmul(a, b));
            row("transpose", rounds, calls, () -> a.transpose(1, 0), () -> Torch.transpose(a, 0, 1));
            row("softmax(-1)", rounds, calls, () -> a.softmax(-1), () -> Torch.softmax(a, -1));
            row("cast fp32->fp16 (DJL toType / bridge to)", rounds, calls,
                    () -> a.toType(DataType.FLOAT16, false), () -> Torch.to(a, ScalarType.FLOAT16));
            row("silu: DJL x*sigmoid(x) vs bridged silu", rounds, calls,
                    () -> {
                        NDArray s = Activation.sigmoid(a);
                        NDArray o = a.mul(s);
                        s.close();
                        return o;
                    }, () -> Torch.silu(a));
            NDArray q = m.randomNormal(new Shape(1, 8, 128, 64));
            NDArray k = m.randomNormal(new Shape(1, 8, 128, 64));
            NDArray v = m.randomNormal(new Shape(1, 8, 128, 64));
            float[] causal = new float[128 * 128];
            for (int i = 0; i < 128; i++) {
                for (int j = i + 1; j < 128; j++) {
                    causal[i * 128 + j] = Float.NEGATIVE_INFINITY;
                }
            }
            NDArray mask = m.create(causal, new Shape(128, 128));
            int big = Math.max(20, calls / 200);
            row("causal SDPA fwd [1,8,128,64]: composed vs fused", rounds, big,
                    () -> composed(q, k, v, mask), () -> Torch.sdpa(q, k, v, null, true));
            row("causal SDPA fwd+bwd [1,8,128,64]", rounds, big / 2,
                    () -> backward(m, q, k, v, x -> composed(x[0], x[1], x[2], mask)),
                    () -> backward(m, q, k, v, x -> Torch.sdpa(x[0], x[1], x[2], null, true)));
        }
    }

    private static NDArray composed(NDArray q, NDArray k, NDArray v, NDArray mask) {
        try (NDManager s = q.getManager().newSubManager()) {
            q.tempAttach(s);
            k.tempAttach(s);
            v.tempAttach(s);
            mask.tempAttach(s);
            NDArray out = q.matMul(k.swapAxes(2, 3)).mul(0.125f).add(mask).softmax(-1).matMul(v);
            out.attach(s.getParentManager());
            return out;
        }
    }

    /** Forward + backward of {@code f} on fresh leaves; returns a closable placeholder. */
    @SuppressWarnings("try") // the scope only switches grad mode
    private static NDArray backward(NDManager m, NDArray q, NDArray k, NDArray v,
            java.util.function.Function<NDArray[], NDArray> f) {
        try (NDManager s = m.newSubManager(); Torch.GradMode g = Torch.withGrad()) {
            NDArray[] x = {q.duplicate(), k.duplicate(), v.duplicate()};
            for (NDArray t : x) {
                t.attach(s);
                t.setRequiresGradient(true);
            }
            NDArray out = f.apply(x);
            out.attach(s);
            JniUtils.backward((PtNDArray) out, (PtNDArray) s.ones(out.getShape()), false, false);
        }
        return null;
    }

    private static void row(String name, int rounds, int calls, Supplier<NDArray> djl, Supplier<NDArray> bridge) {
        // rounds alternate between the two so that a busy spell on a shared machine hits both
        double d = Double.MAX_VALUE;
        double br = Double.MAX_VALUE;
        for (int r = -1; r < rounds; r++) {
            double dd = perCall(calls, djl);
            double bb = perCall(calls, bridge);
            if (r >= 0) { // round -1 warms up
                d = Math.min(d, dd);
                br = Math.min(br, bb);
            }
        }
        System.out.printf(Locale.ROOT, "%-44s %10.2f %10.2f %7.2fx%n", name, d, br, br / d);
    }

    /** Microseconds per call over {@code calls} calls, each result closed. */
    private static double perCall(int calls, Supplier<NDArray> op) {
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            NDArray out = op.get();
            if (out != null) {
                out.close();
            }
        }
        return (System.nanoTime() - t0) / 1e3 / calls;
    }
}
