package dev.merv.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.fusion.FeatureFusion;
import dev.merv.core.fusion.FusionType;
import dev.merv.core.fusion.Fusions;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.AdaptivePool;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Two design choices of the projector/fusion code, each against an alternative doing the same work, measured in
 * the same run (CPU, forward + backward, best of 5 after a warm-up):
 *
 * <ol>
 *   <li>3-D adaptive average pooling through libtorch's kernel vs the same pooling written with DJL's ops alone:
 *       adaptive pooling is separable (a box mean is the product of three 1-D bin means), so the baseline applies
 *       the three bin-averaging matrices with three matmuls, at one SigLIP/ViViT-shaped encoder of merv-base
 *       ({@code [B, 768, 16, 14, 14] -> (16, 8, 8)}, overlapping 14->8 bins). Both give the same values (checked).
 *   <li>The cross-attention fusion computing only the q.k weights (W8) vs the reference's whole
 *       {@code nn.MultiheadAttention} work, written out here: the same token means, q/k projections, softmax and
 *       mixing, plus the value projection, attention over values and output projection whose result the reference
 *       discards. Nothing random is drawn inside the timed region.
 * </ol>
 *
 * The ratio column is the alternative's time over the used path's, same inputs, same process, same threads: above
 * 1 the used path is faster. Run: {@code java -cp <test classpath> dev.merv.core.bench.ProjectorFusionBench
 * [scale [threads]]} where scale (default 0.25) shrinks the channel widths to keep the run short on small machines
 * and threads (default 1) is libtorch's intra-op pool.
 */
public final class ProjectorFusionBench {

    private ProjectorFusionBench() {}

    public static void main(String[] args) {
        double scale = args.length > 0 ? Double.parseDouble(args[0]) : 0.25;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        ai.djl.engine.Engine.getInstance();
        JniUtils.setNumThreads(threads);
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            System.out.printf("scale %.2f, %d intra-op thread(s)%n", scale, threads);
            int b = 2;
            int c = (int) (768 * scale);
            System.out.printf("%-52s %10s %10s%n", "case (forward+backward)", "best ms", "ratio");
            NDArray x = m.randomNormal(new Shape(b, c, 16, 14, 14));
            x.setRequiresGradient(true);
            NDArray[] bins = {binMatrix(m, 16, 16), binMatrix(m, 14, 8), binMatrix(m, 14, 8)};
            try (var ng = Torch.noGrad(); NDArray a = AdaptivePool.avg(x, 16, 8, 8); NDArray s = separablePool(x, bins)) {
                double diff = a.sub(s).abs().max().getFloat();
                if (diff > 1e-4) {
                    throw new AssertionError("the separable baseline is not the same pooling: max |diff| " + diff);
                }
            }
            double[] pool = alternate(m, () -> AdaptivePool.avg(x, 16, 8, 8), () -> separablePool(x, bins));
            double kernel = pool[0];
            double separable = pool[1];
            System.out.printf("%-52s %10.2f %10s%n", "3davg: libtorch adaptive_avg_pool3d (used)", kernel, "1.00");
            System.out.printf("%-52s %10.2f %10.2f%n", "3davg: three bin-averaging matmuls (DJL ops)", separable,
                    separable / kernel);

            int e = 4;
            int l = (int) (1024 * scale);
            int d = (int) (4096 * scale);
            int f = (int) (3072 * scale);
            FeatureFusion fusion = Fusions.build(FusionType.CROSS_ATTENTION_AVG_LQ, e, d, l, f);
            fusion.initialize(ReferenceInit.seeded(1024), m);
            List<NDArray> projected = new ArrayList<>();
            for (int i = 0; i < e; i++) {
                NDArray p = m.randomNormal(new Shape(b, l, d));
                p.setRequiresGradient(true);
                projected.add(p);
            }
            Map<String, Param> params = fusion.namedParameters();
            double[] fused = alternate(m, () -> fusion.fuse(projected).tokens(), () -> referenceFusion(params, projected, f));
            double qk = fused[0];
            double full = fused[1];
            System.out.printf("%-52s %10.2f %10s%n", "fusion avg_lq: q.k weights only (used, W8)", qk, "1.00");
            System.out.printf("%-52s %10.2f %10.2f%n", "fusion avg_lq: + value path and out_proj (reference)", full,
                    full / qk);
            long dead = params.get("attention.v_proj_weight").numel() + params.get("attention.out_proj.weight").numel()
                    + params.get("attention.out_proj.bias").numel();
            System.out.printf("dead fusion parameters at this scale: %,d of %,d (merv-base: 22,023,168 of 44,055,552)%n",
                    dead, fusion.parameterCount());
        }
    }

    /** {@code [out, in]}: row i averages input bin {@code [floor(i*in/out), ceil((i+1)*in/out))}. */
    static NDArray binMatrix(NDManager m, int in, int out) {
        float[] a = new float[out * in];
        for (int i = 0; i < out; i++) {
            int[] bin = AdaptivePool.bin(i, in, out);
            for (int j = bin[0]; j < bin[1]; j++) {
                a[i * in + j] = 1f / (bin[1] - bin[0]);
            }
        }
        return m.create(a, new Shape(out, in));
    }

    /** {@code [B, C, T, H, W]} pooled axis by axis: W, then H, then T, each a matmul with its bin matrix. */
    static NDArray separablePool(NDArray x, NDArray[] bins) {
        NDArray w = x.matMul(bins[2].transpose());                                  // [B, C, T, H, W']
        NDArray h = w.swapAxes(3, 4).matMul(bins[1].transpose());                   // [B, C, T, W', H']
        NDArray t = h.transpose(0, 1, 3, 4, 2).matMul(bins[0].transpose());        // [B, C, W', H', T']
        return t.transpose(0, 1, 4, 3, 2);                                          // [B, C, T', H', W']
    }

    /**
     * The reference's fusion: token means as keys and values, {@code q = W_q Q + b_q}, {@code k = W_k K + b_k},
     * softmax of the scaled scores, the mixing of the projected tokens, and the discarded
     * {@code out_proj(softmax . (W_v K + b_v))}, kept in the graph with weight 0 so backward runs through it.
     */
    static NDArray referenceFusion(Map<String, Param> params, List<NDArray> projected, int f) {
        long b = projected.get(0).getShape().get(0);
        long l = projected.get(0).getShape().get(1);
        long d = projected.get(0).getShape().get(2);
        int e = projected.size();
        NDList means = new NDList();
        for (NDArray p : projected) {
            means.add(p.mean(new int[] {1}));
        }
        NDArray keys = NDArrays.stack(means, 1);                                                        // [B, E, D]
        NDArray bias = params.get("attention.in_proj_bias").get();
        NDArray q = Torch.linear(params.get("Q").get(), params.get("attention.q_proj_weight").get(), bias.get("0:" + f));
        NDArray k = Torch.linear(keys, params.get("attention.k_proj_weight").get(), bias.get(f + ":" + 2 * f));
        NDArray v = Torch.linear(keys, params.get("attention.v_proj_weight").get(), bias.get(2 * f + ":"));
        NDArray scores = Torch.matmul(k, Torch.mulScalar(q, (float) Math.sqrt(1.0 / f)).reshape(1, f, 1)).reshape(b, 1, e);
        NDArray w = Torch.softmax(scores, 2);                                                           // [B, 1, E]
        NDArray mixed = Torch.matmul(w, NDArrays.stack(new NDList(projected), 1).reshape(b, e, l * d)).reshape(b, l, d);
        NDArray att = Torch.matmul(w, v);                                                               // [B, 1, F]
        NDArray o = Torch.linear(att, params.get("attention.out_proj.weight").get(), params.get("attention.out_proj.bias").get());
        return mixed.add(o.sum().mul(0f));
    }

    /**
     * Best-of-N milliseconds of {@code a} and {@code b}, timed alternately (a, b, a, b, ...) after one warm-up each, so
     * that both see the same load on a shared machine; the minimum is the least disturbed run.
     */
    private static double[] alternate(NDManager m, Supplier<NDArray> a, Supplier<NDArray> b) {
        once(m, a);
        once(m, b);
        double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};
        for (int i = 0; i < 9; i++) {
            for (int k = 0; k < 2; k++) {
                long t0 = System.nanoTime();
                once(m, k == 0 ? a : b);
                best[k] = Math.min(best[k], (System.nanoTime() - t0) / 1e6);
            }
        }
        return best;
    }

    private static void once(NDManager m, Supplier<NDArray> f) {
        try (NDManager step = m.newSubManager()) {
            NDArray out = f.get();
            out.tempAttach(step);
            NDArray loss = out.sum();
            loss.tempAttach(step);
            JniUtils.backward((PtNDArray) loss, (PtNDArray) step.ones(new Shape()), false, false);
        }
    }
}
