package dev.merv.core.train;

import dev.merv.core.config.Stage;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.testing.Fixture;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The optimizer-side semantics of {@code train-steps-tiny} that need no MERV model: the lr every
 * optimizer step used ({@code output.lr}: lr 0 on step 0, then warmup + cosine from the config's
 * schedule length and warmup ratio) and the decay / no-decay split of the trainable parameters
 * ({@code meta.decay_params} / {@code meta.no_decay_params}, from {@code meta.shapes}). The fixture
 * records no per-step gradients, so AdamW's arithmetic is checked against PyTorch in
 * {@link AdamWTest}; losses, grad norms and final weights need the MERV model (wired at integration).
 */
class TrainStepsScheduleFixtureTest {

    static Stream<String> fixtures() {
        return Stream.of("train-steps-tiny");
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("fixtures")
    void lrOfEveryStepMatches(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager()) {
            JsonObject cfg = f.config();
            long total = cfg.get("num_training_steps").getAsLong();
            double ratio = cfg.get("warmup_ratio").getAsDouble();
            LrSchedule s = LrSchedule.warmupCosine(cfg.get("learning_rate").getAsDouble(), total, ratio,
                    LrSchedule.FirstStep.ZERO_LR);
            assertThat(s.warmupSteps()).isEqualTo(cfg.get("num_warmup_steps").getAsLong());
            float[] expected = f.ioFloat("output.lr", m).toFloatArray();
            assertThat(expected.length).isEqualTo(cfg.get("steps").getAsInt());
            Fixture.Tolerance tol = f.tolerance("output.lr");
            for (int k = 0; k < expected.length; k++) {
                assertThat(Math.abs(s.lr(k) - expected[k])).as("lr of step %d", k)
                        .isLessThanOrEqualTo(tol.atol() * 1e-3 + 1e-7 * Math.abs(expected[k]));
            }
            assertThat(expected[0]).isZero();
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("fixtures")
    void decayGroupsMatch(String name) {
        try (Fixture f = Fixture.open(name)) {
            JsonObject shapes = f.meta().getAsJsonObject("shapes");
            List<String> decay = f.metaList("decay_params");
            List<String> noDecay = f.metaList("no_decay_params");
            assertThat(decay).isNotEmpty();
            assertThat(noDecay).isNotEmpty();
            List<String> gotDecay = new ArrayList<>();
            List<String> gotNoDecay = new ArrayList<>();
            for (Map.Entry<String, com.google.gson.JsonElement> e : shapes.entrySet()) {
                if (!e.getKey().startsWith("output.final.")) {
                    continue;
                }
                String param = e.getKey().substring("output.final.".length());
                JsonArray a = e.getValue().getAsJsonArray();
                long[] shape = new long[a.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = a.get(i).getAsLong();
                }
                (DecayGroups.decays(param, shape) ? gotDecay : gotNoDecay).add(param);
                // the stage's freezing hook must mark every trained tensor of the fixture trainable
                assertThat(Stage.parse(f.config().get("stage").getAsString()).trains(param)).as(param).isTrue();
            }
            assertThat(gotDecay).containsExactlyInAnyOrderElementsOf(decay);
            assertThat(gotNoDecay).containsExactlyInAnyOrderElementsOf(noDecay);
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("fixtures")
    void frozenEncodersAreNotTrainedInTheFixtureStage(String name) {
        try (Fixture f = Fixture.open(name)) {
            Stage stage = Stage.parse(f.config().get("stage").getAsString());
            for (String n : f.model().names()) {
                boolean trained = f.io().contains("output.final." + n);
                assertThat(stage.trains(n)).as(n).isEqualTo(trained);
            }
        }
    }
}
