package dev.merv.llm.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.CausalLmLoss;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Right-padded training batches attend with the causal rule alone ({@link MaskLayout#PREFIX}: no
 * {@code [B, 1, T, T]} mask, so SDPA's fused kernels stay eligible, grouped-query heads included): at every
 * real position the logits, and so the loss over supervised positions and every gradient, are those of the
 * masked attention; the mask is not consulted at all.
 */
class RightPaddedAttentionTest {

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void causalOnlyEqualsTheMaskAtSupervisedPositions(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.withGrad()) {
            long[] ids = f.io("input.input_ids", m).toLongArray();
            long[] shape = f.io("input.input_ids", m).getShape().getShape();
            int b = (int) shape[0];
            int t = (int) shape[1];
            // row r keeps its first len[r] tokens (ever fewer down the batch, every row padded whatever the fixture's
            // batch size), the rest is padding
            int[] len = new int[b];
            boolean[] mask = new boolean[b * t];
            long[] labels = new long[b * t];
            long[] padded = ids.clone();
            for (int r = 0; r < b; r++) {
                len[r] = Math.max(2, t - (r + 1) * Math.max(1, t / (b + 1)));
                for (int j = 0; j < t; j++) {
                    int k = r * t + j;
                    mask[k] = j < len[r];
                    padded[k] = j < len[r] ? ids[k] : 0;
                    labels[k] = j >= 1 && j < len[r] ? ids[k] : CausalLmLoss.IGNORE_INDEX;
                }
            }
            assertThat(len[b - 1]).as("some row is padded").isLessThan(t);
            Shape bt = new Shape(b, t);
            Run masked = run(f, m, padded, bt, m.create(mask, bt), labels, MaskLayout.ANY);
            Run causal = run(f, m, padded, bt, m.create(mask, bt), labels, MaskLayout.PREFIX);
            Fixture.Tolerance tol = f.tolerance("output.logits");
            long v = masked.logits.getShape().get(2);
            for (int r = 0; r < b; r++) {
                NDArray a = causal.logits.get(r + ", 0:" + len[r] + ", :");
                NDArray e = masked.logits.get(r + ", 0:" + len[r] + ", :");
                Compare.assertClose(name + " row " + r + " real positions", a, e, tol.atol(), tol.rtol());
            }
            assertThat(causal.lossSum).isCloseTo(masked.lossSum, org.assertj.core.data.Offset.offset(
                    f.tolerance("output.loss").atol() * causal.tokens + 1e-6));
            for (String p : masked.grads.keySet()) {
                Fixture.Tolerance gt = f.tolerance("grad." + p);
                Compare.assertClose(name + " grad " + p, causal.grads.get(p), masked.grads.get(p),
                        new long[] {causal.grads.get(p).length}, gt.atol(), gt.rtol());
            }
            // the mask is not read: a mask claiming no padding gives bit for bit the same logits
            boolean[] lie = new boolean[b * t];
            java.util.Arrays.fill(lie, true);
            Run ignored = run(f, m, padded, bt, m.create(lie, bt), labels, MaskLayout.PREFIX);
            assertThat(ignored.logits.toFloatArray()).containsExactly(causal.logits.toFloatArray());
            assertThat(v).isPositive();
        }
    }

    private record Run(NDArray logits, double lossSum, long tokens, Map<String, float[]> grads) {}

    private static Run run(Fixture f, NDManager m, long[] ids, Shape bt, NDArray mask, long[] labels, MaskLayout layout) {
        LlamaModel model = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
        NDArray logits = model.forward(model.embed(m.create(ids, bt)), mask, null, null, layout);
        var ls = CausalLmLoss.sum(logits, m.create(labels, bt));
        JniUtils.backward((PtNDArray) ls.summed(), (PtNDArray) ls.summed().onesLike(), false, false);
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (Map.Entry<String, Param> e : model.namedParameters().entrySet()) {
            try (NDArray gr = e.getValue().get().getGradient()) {
                grads.put(e.getKey(), gr.toFloatArray());
            }
        }
        return new Run(logits, ls.summed().getFloat(), ls.tokens(), grads);
    }
}
