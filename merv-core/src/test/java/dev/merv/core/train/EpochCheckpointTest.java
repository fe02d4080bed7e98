package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When checkpoints are written, as the reference writes them: every {@code save_checkpoint_after} steps, at the
 * end of every epoch when {@code max_steps} is unset, and at the end (unless {@code checkpointAtEnd} is off, as
 * benchmarks set it); a checkpoint written at an epoch's end resumes into the next epoch exactly.
 */
class EpochCheckpointTest {

    @TempDir
    Path root;

    /** 96 rows / 12 per step = 8 steps per epoch. */
    private TrainConfig cfg(String id, long maxSteps, int epochs) {
        TrainConfig c = TrainerTesting.config(root, id, 12, 12, "cpu", maxSteps);
        c.epochs = epochs;
        c.saveCheckpointAfter = 5;
        c.keepCheckpoints = 0;
        return c;
    }

    private static List<String> names(Path runDir) {
        return Checkpoints.list(runDir.resolve("checkpoints")).stream()
                .map(p -> p.getFileName().toString().substring(0, "step-000000-epoch-00".length())).toList();
    }

    @Test
    void withoutMaxStepsEveryEpochEndsWithACheckpoint() {
        Map<String, float[]> full;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(cfg("epochs", 0, 2), TrainerTesting.source())) {
            assertThat(t.run()).hasSize(16);
            full = TrainerTesting.weights(t);
        }
        assertThat(names(root.resolve("epochs"))).containsExactly("step-000005-epoch-00", "step-000008-epoch-00",
                "step-000010-epoch-01", "step-000015-epoch-01", "step-000016-epoch-01");

        // the epoch-end checkpoint continues with epoch 1's first batch
        TrainConfig again = cfg("epochs-resumed", 0, 2);
        again.resumeFromCheckpoint = Checkpoints.list(root.resolve("epochs/checkpoints")).get(1).toString();
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(again, TrainerTesting.source())) {
            assertThat(t.globalStep()).isEqualTo(8);
            List<StepRecord> rest = t.run();
            assertThat(rest).hasSize(8);
            assertThat(rest.get(0).epoch()).isEqualTo(1);
            CheckpointIntegrityTest.assertBitwise(full, TrainerTesting.weights(t));
        }
    }

    @Test
    void withMaxStepsOnlyTheIntervalAndTheEnd() {
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(cfg("steps", 16, 1), TrainerTesting.source())) {
            t.run();
        }
        assertThat(names(root.resolve("steps"))).containsExactly("step-000005-epoch-00", "step-000010-epoch-01",
                "step-000015-epoch-01", "step-000016-epoch-01");
    }

    @Test
    void withoutTheClosingCheckpointOnlyTheIntervals() {
        TrainConfig c = cfg("bench", 16, 1);
        c.checkpointAtEnd = false;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            assertThat(t.run()).hasSize(16);
        }
        assertThat(names(root.resolve("bench"))).containsExactly("step-000005-epoch-00", "step-000010-epoch-01",
                "step-000015-epoch-01");
    }
}
