package dev.merv.core.projector;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.nn.ModuleList;
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

/** The per-encoder projectors against the reference (outputs and gradients of {@code output.sum_check}). */
class ProjectorFixtureTest {

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"projector-3davg-linear"})
    void projectorsMatchReference(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager(); var g = Torch.withGrad()) {
            JsonObject cfg = f.config();
            ArchSpecifier arch = ArchSpecifier.parse(cfg.get("arch_specifier").getAsString());
            int tokens = cfg.get("projector_token_length").getAsInt();
            int llmDim = cfg.get("llm_dim").getAsInt();
            JsonArray encoders = cfg.getAsJsonArray("encoders");
            ModuleList<Projector> projectors = new ModuleList<>();
            for (int i = 0; i < encoders.size(); i++) {
                JsonObject e = encoders.get(i).getAsJsonObject();
                Projector p = projectors.add(Projectors.build(arch, e.get("fused_vision_dim").getAsInt(),
                        e.get("temporal_resolution").getAsInt(), e.get("spatial_resolution").getAsInt(), llmDim, tokens));
                assertThat(p.outputFrames()).as("output frames of encoder " + i).isEqualTo(e.get("output_frames").getAsInt());
                assertThat(p.tokensPerFrame()).isEqualTo(cfg.get("output_size").getAsInt() * cfg.get("output_size").getAsInt());
            }
            Map<String, Param> table = WeightLoader.identity("", projectors.namedParameters());
            assertThat(WeightLoader.load(f.model(), table, m, ScalarType.FLOAT32).clean()).isTrue();

            NDArray weights = f.ioFloat("input.sum_check_weight", m);
            List<NDArray> inputs = new ArrayList<>();
            NDArray sum = null;
            for (int i = 0; i < encoders.size(); i++) {
                NDArray x = f.ioFloat("input.features_" + i, m);
                x.setRequiresGradient(true);
                inputs.add(x);
                NDArray out = projectors.get(i).forward(x);
                f.assertMatches("output.projected_" + i, out);
                NDArray term = out.mul(weights.get(i)).sum();
                sum = sum == null ? term : sum.add(term);
            }
            f.assertMatches("output.sum_check", sum);
            JniUtils.backward((PtNDArray) sum, (PtNDArray) m.ones(sum.getShape()), false, false);
            for (String grad : f.metaList("grads")) {
                String target = grad.substring("grad.".length());
                NDArray actual = target.startsWith("input.features_")
                        ? inputs.get(Integer.parseInt(target.substring("input.features_".length()))).getGradient()
                        : table.get(target).get().getGradient();
                f.assertMatches(grad, actual);
            }
        }
    }
}
