package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.Torch;
import org.junit.jupiter.api.Test;

/**
 * AdamW plus clipping against numbers printed by PyTorch 2.6's {@code torch.optim.AdamW} and
 * {@code clip_grad_norm_} ({@code bench/adamw_reference.py} in the reference environment): a decay
 * and a no-decay tensor, three steps at lr 0, 1e-2, 5e-3 (MERV's lr-0 first step), clipped at 1.0.
 */
class AdamWTest {

    static final float[][] GW = {{0.3f, -0.1f, 2.5f, 0f, 1e-4f, -0.6f}, {0.2f, 0.05f, -1.0f, 0f, 3e-4f, 0.1f},
        {-0.4f, 0.3f, 0.7f, 0f, -2e-4f, 0.2f}};
    static final float[][] GB = {{0.01f, -0.02f, 0.5f}, {0.02f, 0f, -0.3f}, {0.05f, 0.01f, 0.2f}};
    static final double[] LR = {0.0, 1e-2, 5e-3};
    static final double[] TORCH_NORMS = {2.6382761001586914, 1.0690650939941406, 0.9069730043411255};
    static final double[] TORCH_W = {0.49039384722709656, -1.2529401779174805, 1.9961329698562622, 0.0,
        -0.008035210892558098, -0.7465204000473022};
    static final double[] TORCH_W_M = {-0.013952318578958511, 0.03113909624516964, 0.06256900727748871, 0.0,
        8.32587647892069e-06, 0.00999745074659586};
    static final double[] TORCH_W_V = {0.00020786788081750274, 9.361904085380957e-05, 0.0022602188400924206, 0.0,
        1.2010197003586853e-10, 0.0001003579018288292};
    static final double[] TORCH_B = {0.08720441162586212, -0.19428220391273499, 0.30159854888916016};
    static final double[] TORCH_B_M = {0.006990731228142977, 0.0003859629505313933, 0.010095236822962761};
    static final double[] TORCH_B_V = {2.8639744868996786e-06, 1.573522183662135e-07, 0.0001545132981846109};

    @Test
    void matchesTorchAdamWWithClippingAndZeroLrFirstStep() {
        AdamW adam = new AdamW(0.9, 0.999, 1e-8);
        try (NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            NDArray w = m.create(new float[] {0.5f, -1.25f, 2.0f, 0.0f, 1e-3f, -0.75f});
            NDArray b = m.create(new float[] {0.1f, -0.2f, 0.3f});
            NDArray wm = m.zeros(w.getShape());
            NDArray wv = m.zeros(w.getShape());
            NDArray bm = m.zeros(b.getShape());
            NDArray bv = m.zeros(b.getShape());
            for (int k = 0; k < 3; k++) {
                NDArray gw = m.create(GW[k]);
                NDArray gb = m.create(GB[k]);
                double sq = gw.mul(gw).sum().getFloat() + gb.mul(gb).sum().getFloat();
                float norm = (float) Math.sqrt(sq);
                assertThat((double) norm).isCloseTo(TORCH_NORMS[k], org.assertj.core.data.Offset.offset(2e-7));
                float coef = GradClip.coefficient(norm, 1.0);
                if (coef < 1f) {
                    gw.muli(coef);
                    gb.muli(coef);
                }
                adam.update(w, gw, wm, wv, LR[k], 0.1, k + 1);
                adam.update(b, gb, bm, bv, LR[k], 0.0, k + 1);
            }
            close("w", w, TORCH_W);
            close("w.exp_avg", wm, TORCH_W_M);
            close("w.exp_avg_sq", wv, TORCH_W_V);
            close("b", b, TORCH_B);
            close("b.exp_avg", bm, TORCH_B_M);
            close("b.exp_avg_sq", bv, TORCH_B_V);
        }
    }

    private static void close(String what, NDArray actual, double[] expected) {
        float[] a = actual.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            // one fp32 ulp of the value: the kernels are torch's, only the order of a few roundings may differ
            double ulp = Math.ulp((float) expected[i]);
            assertThat(Math.abs(a[i] - expected[i])).as("%s[%d]", what, i).isLessThanOrEqualTo(2 * ulp);
        }
    }

    @Test
    void clipCoefficientIsTorchs() {
        assertThat(GradClip.coefficient(0.5f, 1.0)).isEqualTo(1f);
        assertThat(GradClip.coefficient(4f, 1.0)).isEqualTo(1f / (4f + 1e-6f));
    }
}
