package dev.merv.core.fusion;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonObject;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The feature fusion against the reference: fused tokens, mixing weights, gradients. */
class FusionFixtureTest {

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"fusion-cross-attention-avg-lq"})
    void fusionMatchesReference(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager(); var g = Torch.withGrad()) {
            JsonObject cfg = f.config();
            FusionType type = FusionType.parse(cfg.get("feature_fusion").getAsString());
            int encoders = cfg.get("num_encoder").getAsInt();
            FeatureFusion fusion = Fusions.build(type, encoders, cfg.get("llm_dim").getAsInt(),
                    cfg.get("token_length").getAsInt(), cfg.get("embed_dim").getAsInt());
            Map<String, Param> table = WeightLoader.identity("", fusion.namedParameters());
            assertThat(WeightLoader.load(f.model(), table, m, ScalarType.FLOAT32).clean()).isTrue();
            // W8: the dead value path / output projection are kept but frozen, as Merv does
            fusion.unusedParameters().forEach(p -> table.get(p).setTrainable(false));

            List<NDArray> inputs = new ArrayList<>();
            for (int i = 0; i < cfg.get("num_inputs").getAsInt(); i++) {
                NDArray x = f.ioFloat("input.projected_" + i, m);
                x.setRequiresGradient(true);
                inputs.add(x);
            }
            FusionResult r = fusion.fuse(inputs);
            f.assertMatches("output.fused", r.tokens());
            f.assertMatches("output.mixer_weights", r.weights());
            NDArray sum = r.tokens().mul(f.ioFloat("input.sum_check_weight", m)).sum();
            f.assertMatches("output.sum_check", sum);
            JniUtils.backward((PtNDArray) sum, (PtNDArray) m.ones(sum.getShape()), false, false);
            int checked = 0;
            for (String grad : f.metaList("grads")) {
                String target = grad.substring("grad.".length());
                NDArray actual;
                if (target.startsWith("input.projected_")) {
                    actual = inputs.get(Integer.parseInt(target.substring("input.projected_".length()))).getGradient();
                } else if (fusion.unusedParameters().contains(target)) {
                    // never part of the graph: the reference's gradient must be exactly what it contributes, zero
                    actual = m.zeros(table.get(target).shape());
                } else {
                    actual = table.get(target).get().getGradient();
                }
                f.assertMatches(grad, actual);
                checked++;
            }
            assertThat(checked).isEqualTo(f.metaList("grads").size()).isGreaterThan(0);
        }
    }
}
