package dev.merv.core.fusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FusionsTest {

    static final int E = 3;
    static final int B = 2;
    static final int L = 5;
    static final int D = 8;
    static final int F = 12;

    static List<NDArray> inputs(NDManager m) {
        List<NDArray> xs = new ArrayList<>();
        for (int e = 0; e < E; e++) {
            NDArray x = m.randomNormal(new Shape(B, L, D)).add(e);
            x.setRequiresGradient(true);
            xs.add(x);
        }
        return xs;
    }

    static FusionContext context(NDManager m) {
        List<NDArray> keys = new ArrayList<>();
        for (int e = 0; e < E; e++) {
            keys.add(m.randomNormal(new Shape(B, D)));
        }
        return new FusionContext(m.randomNormal(new Shape(B, D)), keys);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(FusionType.class)
    void everyFusionShapesWeightsAndGradients(FusionType type) {
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            FeatureFusion f = Fusions.build(type, E, D, L, F);
            f.initialize(ReferenceInit.seeded(D), m);
            List<NDArray> xs = inputs(m);
            FusionResult r = f.fuse(xs, context(m));
            assertThat(r.tokens().getShape()).isEqualTo(new Shape(B, L, D));
            boolean mixes = type != FusionType.FIRST && type != FusionType.CONCAT_CHANNEL && type != FusionType.CONCAT_CHANNEL_LN;
            if (mixes) {
                assertThat(r.weights().getShape()).isEqualTo(new Shape(B, E));
                float[] w = r.weights().toFloatArray();
                for (int b = 0; b < B; b++) {
                    double s = 0;
                    for (int e = 0; e < E; e++) {
                        assertThat(w[b * E + e]).isBetween(0f, 1f);
                        s += w[b * E + e];
                    }
                    assertThat(s).isCloseTo(1.0, Offset.offset(1e-5));
                }
                // the output is the convex combination of the inputs with those weights
                float[] out = r.tokens().toFloatArray();
                float[][] in = new float[E][];
                for (int e = 0; e < E; e++) {
                    in[e] = xs.get(e).toFloatArray();
                }
                for (int i = 0; i < out.length; i++) {
                    int b = i / (L * D);
                    double expect = 0;
                    for (int e = 0; e < E; e++) {
                        expect += w[b * E + e] * in[e][i];
                    }
                    assertThat((double) out[i]).isCloseTo(expect, Offset.offset(1e-4));
                }
            } else {
                assertThat(r.weights()).isNull();
            }
            NDArray loss = r.tokens().mul(r.tokens()).sum();
            JniUtils.backward((PtNDArray) loss, (PtNDArray) m.ones(new Shape()), false, false);
            for (Map.Entry<String, Param> e : f.namedParameters().entrySet()) {
                if (f.unusedParameters().contains(e.getKey())) {
                    assertThat(e.getValue().get().hasGradient() && e.getValue().get().getGradient().abs().sum().getFloat() > 0)
                            .as("W8 parameter " + e.getKey() + " gets no gradient").isFalse();
                } else {
                    assertThat(e.getValue().get().getGradient().abs().sum().getFloat()).as("grad of " + e.getKey()).isPositive();
                }
            }
            if (type == FusionType.FIRST) {
                assertThat(r.tokens().toFloatArray()).containsExactly(xs.get(0).toFloatArray());
            }
        }
    }

    @Test
    void parameterLayoutsAreTheReferences() {
        assertThat(Fusions.build(FusionType.CROSS_ATTENTION_AVG_LQ, E, D, L, F).namedParameters().keySet())
                .containsExactlyInAnyOrder("Q", "attention.q_proj_weight", "attention.k_proj_weight",
                        "attention.v_proj_weight", "attention.in_proj_bias", "attention.out_proj.weight",
                        "attention.out_proj.bias");
        // kdim == embed dim: torch packs q/k/v into in_proj_weight
        assertThat(Fusions.build(FusionType.CROSS_ATTENTION_AVG_LQ, E, F, L, F).namedParameters().keySet())
                .containsExactlyInAnyOrder("Q", "attention.in_proj_weight", "attention.in_proj_bias",
                        "attention.out_proj.weight", "attention.out_proj.bias");
        assertThat(Fusions.build(FusionType.CONCAT_CHANNEL, E, D, L, F).namedParameters().keySet())
                .containsExactly("projector.weight", "projector.bias");
        assertThat(Fusions.build(FusionType.CONCAT_CHANNEL_LN, E, D, L, F).namedParameters().keySet())
                .containsExactly("0.weight", "0.bias", "1.projector.weight", "1.projector.bias");
        assertThat(Fusions.build(FusionType.SCALAR, E, D, L, F).namedParameters().keySet()).containsExactly("scalar");
        assertThat(Fusions.build(FusionType.QUERY_MLP, E, D, L, F).namedParameters().keySet())
                .containsExactly("projector.0.weight", "projector.0.bias", "projector.2.weight", "projector.2.bias");
        assertThat(Fusions.build(FusionType.FIRST, E, D, L, F).namedParameters()).isEmpty();
        assertThat(Fusions.build(FusionType.CONCAT_CHANNEL, E, D, L, F).namedParameters().get("projector.weight").shape())
                .isEqualTo(new Shape(D, (long) E * D));
    }

    @Test
    void packedAttentionMatchesSeparateWeights() {
        try (NDManager m = NDManager.newBaseManager()) {
            FeatureFusion sep = Fusions.build(FusionType.CROSS_ATTENTION_AVG_LQ, E, F, L, F);
            sep.initialize(ReferenceInit.seeded(3), m);
            List<NDArray> xs = new ArrayList<>();
            for (int e = 0; e < E; e++) {
                xs.add(m.randomNormal(new Shape(B, L, F)));
            }
            Map<String, Param> p = sep.namedParameters();
            NDArray w = p.get("attention.in_proj_weight").get();
            NDArray q = p.get("Q").get();
            NDArray bias = p.get("attention.in_proj_bias").get();
            // direct: softmax_e((Wq Q + bq) . (Wk mean_e + bk) / sqrt(F))
            NDArray qq = Torch.linear(q, w.get("0:" + F), bias.get("0:" + F));
            float[] weights = sep.fuse(xs).weights().toFloatArray();
            for (int b = 0; b < B; b++) {
                double[] s = new double[E];
                double z = 0;
                for (int e = 0; e < E; e++) {
                    NDArray k = Torch.linear(xs.get(e).get(b).mean(new int[] {0}).reshape(1, F), w.get(F + ":" + 2 * F),
                            bias.get(F + ":" + 2 * F));
                    s[e] = Math.exp(qq.mul(k).sum().getFloat() / Math.sqrt(F));
                    z += s[e];
                }
                for (int e = 0; e < E; e++) {
                    assertThat((double) weights[b * E + e]).isCloseTo(s[e] / z, Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void lengthOneSequencesAreRepeatedAndWrongShapesFail() {
        try (NDManager m = NDManager.newBaseManager()) {
            FeatureFusion f = Fusions.build(FusionType.CROSS_ATTENTION_AVG_LQ, 2, D, L, F);
            f.initialize(ReferenceInit.seeded(1), m);
            NDArray one = m.randomNormal(new Shape(B, 1, D));
            FusionResult r = f.fuse(List.of(m.randomNormal(new Shape(B, L, D)), one));
            assertThat(r.tokens().getShape()).isEqualTo(new Shape(B, L, D));
            assertThatThrownBy(() -> f.fuse(List.of(m.zeros(new Shape(B, L + 1, D)), one)))
                    .hasMessageContaining("visual_feature_length");
            assertThatThrownBy(() -> Fusions.build(FusionType.QUERY_MLP, 2, D, L, F).fuse(List.of(one, one)))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> FusionType.parse("concat")).hasMessageContaining("model.feature_fusion");
        }
    }

    @Test
    void scalarFusionUsesEveryEncoderNotFour() {
        FeatureFusion f = Fusions.build(FusionType.SCALAR, 2, D, L, F);
        assertThat(f.namedParameters().get("scalar").shape()).isEqualTo(new Shape(2));
    }
}
