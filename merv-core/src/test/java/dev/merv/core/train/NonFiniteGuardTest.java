package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A non-finite loss skips the update (weights unchanged, logged); too many in a row stop with a checkpoint. */
class NonFiniteGuardTest {

    @TempDir
    Path root;

    @Test
    void skipsThenStopsWithACheckpoint() throws Exception {
        TrainConfig c = TrainerTesting.config(root, "nan", 12, 6, "cpu:2", 10);
        c.maxNonFiniteSteps = 3;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            c.stopAfterSteps = 2;
            t.run();
            Map<String, float[]> before = TrainerTesting.weights(t);
            ((TinyLm) t.model(0)).poison = true;
            ((TinyLm) t.model(1)).poison = true;
            c.stopAfterSteps = 0;
            assertThatThrownBy(t::run).isInstanceOf(TrainingDivergedException.class)
                    .hasMessageContaining("3 consecutive steps with a non-finite loss or gradient norm")
                    .satisfies(e -> assertThat(((TrainingDivergedException) e).checkpoint()).exists());
            assertThat(TrainerTesting.maxDiff(before, TrainerTesting.weights(t))).isZero();
            List<StepRecord> h = t.history();
            assertThat(h).hasSize(5);
            assertThat(h.subList(2, 5)).allSatisfy(r -> assertThat(r.updated()).isFalse());
            List<String> lines = Files.readAllLines(root.resolve("nan").resolve("metrics.jsonl")).stream()
                    .filter(l -> !l.contains("\"event\"")).toList();
            assertThat(lines.get(4)).contains("\"step\":5", "\"update_skipped\":true");
        }
    }
}
