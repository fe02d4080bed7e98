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
 * Two design choices of the projector/fusion code, each against the alternative measured in the same
 * run (CPU, forward + backward):
 *
 * <ol>
 *   <li>3-D adaptive average pooling through libtorch's kernel vs composing it from per-bin slices and
 *       means (what DJL's ops alone would allow), at one SigLIP/ViViT-shaped encoder of merv-base
 *       ({@code [B, 768, 16, 14, 14] -> (16, 8, 8)}, overlapping 14->8 bins).
 *   <li>The cross-attention fusion computing only the q.k weights (W8) vs also running the discarded value
 *       path and output projection as the reference's {@code nn.MultiheadAttention} does.
 * </ol>
 *
 * Run: {@code java -cp <test classpath> dev.merv.core.bench.ProjectorFusionBench [scale]} where scale
 * (default 0.25) shrinks the channel widths to keep the run short on small machines.
 */
public final class ProjectorFusionBench {

    private ProjectorFusionBench() {}

    public static void main(String[] args) {
        double scale = args.length > 0 ? Double.parseDouble(args[0]) : 0.25;
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            int b = 2;
            int c = (int) (768 * scale);
            System.out.printf("%-46s %10s %10s%n", "case (forward+backward)", "best ms", "ratio");
            NDArray x = m.randomNormal(new Shape(b, c, 16, 14, 14));
            x.setRequiresGradient(true);
            double kernel = time(m, () -> AdaptivePool.avg(x, 16, 8, 8));
            double composed = time(m, () -> composedPool(x, 16, 8, 8));
            System.out.printf("%-46s %10.2f %10s%n", "3davg: libtorch adaptive_avg_pool3d (used)", kernel, "1.00");
            System.out.printf("%-46s %10.2f %10.2f%n", "3davg: per-bin slices + means (baseline)", composed, composed / kernel);

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
            double qk = time(m, () -> fusion.fuse(projected).tokens());
            double full = time(m, () -> {
                NDArray out = fusion.fuse(projected).tokens();
                // the reference's discarded MHA output: value projection of the mean tokens, attention, out_proj
                NDList means = new NDList();
                for (NDArray p : projected) {
                    means.add(p.mean(new int[] {1}));
                }
                NDArray keys = NDArrays.stack(means, 1);
                NDArray bias = params.get("attention.in_proj_bias").get();
                NDArray v = Torch.linear(keys, params.get("attention.v_proj_weight").get(), bias.get(2 * f + ":"));
                NDArray w = Torch.softmax(m.randomNormal(new Shape(b, 1, e)), 2);
                NDArray att = Torch.matmul(w, v);
                NDArray o = Torch.linear(att, params.get("attention.out_proj.weight").get(),
                        params.get("attention.out_proj.bias").get());
                return out.add(o.sum().mul(0f));
            });
            System.out.printf("%-46s %10.2f %10s%n", "fusion avg_lq: q.k weights only (used, W8)", qk, "1.00");
            System.out.printf("%-46s %10.2f %10.2f%n", "fusion avg_lq: + value path/out_proj (ref)", full, full / qk);
            long dead = params.get("attention.v_proj_weight").numel() + params.get("attention.out_proj.weight").numel()
                    + params.get("attention.out_proj.bias").numel();
            System.out.printf("dead fusion parameters at this scale: %,d of %,d (merv-base: 22,023,168 of 44,055,552)%n",
                    dead, fusion.parameterCount());
        }
    }

    private static NDArray composedPool(NDArray x, int of, int oh, int ow) {
        long[] s = x.getShape().getShape();
        NDList cells = new NDList();
        for (int i = 0; i < of; i++) {
            int[] bf = AdaptivePool.bin(i, (int) s[2], of);
            for (int j = 0; j < oh; j++) {
                int[] bh = AdaptivePool.bin(j, (int) s[3], oh);
                for (int k = 0; k < ow; k++) {
                    int[] bw = AdaptivePool.bin(k, (int) s[4], ow);
                    NDArray box = x.get(":, :, " + bf[0] + ":" + bf[1] + ", " + bh[0] + ":" + bh[1] + ", " + bw[0] + ":" + bw[1]);
                    cells.add(box.reshape(s[0], s[1], -1).mean(new int[] {2}));
                }
            }
        }
        return NDArrays.stack(cells, 2).reshape(s[0], s[1], of, oh, ow);
    }

    /** Best-of-N milliseconds (the machine is shared: the minimum is the least disturbed run). */
    private static double time(NDManager m, Supplier<NDArray> f) {
        once(m, f);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            once(m, f);
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
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
