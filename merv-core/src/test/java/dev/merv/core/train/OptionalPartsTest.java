package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing optional stops a run: a step listener (a metrics sink) that throws and a metrics file that cannot
 * be written are reported once, and training ends where an undisturbed run ends.
 */
class OptionalPartsTest {

    @TempDir
    Path root;

    @Test
    void aFailingListenerAndAnUnwritableMetricsFileAreReportedAndTrainingGoesOn() throws Exception {
        Map<String, float[]> ref;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(TrainerTesting.config(root, "ref", 12, 12, "cpu", 5),
                TrainerTesting.source())) {
            t.run();
            ref = TrainerTesting.weights(t);
        }
        Files.createDirectories(root.resolve("sinks/metrics.jsonl"));
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(TrainerTesting.config(root, "sinks", 12, 12, "cpu", 5),
                TrainerTesting.source())) {
            int[] calls = {0};
            t.onStep(r -> {
                calls[0]++;
                throw new IllegalStateException("sink is down");
            });
            assertThat(t.run()).hasSize(5);
            assertThat(calls[0]).as("the listener is still called after it failed").isEqualTo(5);
            CheckpointIntegrityTest.assertBitwise(ref, TrainerTesting.weights(t));
        } finally {
            System.setErr(oldErr);
        }
        String said = err.toString(StandardCharsets.UTF_8);
        assertThat(said).containsOnlyOnce("training goes on without an onStep listener").contains("sink is down");
        assertThat(said).containsOnlyOnce("metrics: ").contains("training goes on");
        assertThat(Checkpoints.latest(root.resolve("sinks")).getFileName().toString()).startsWith("step-000005-");
    }
}
