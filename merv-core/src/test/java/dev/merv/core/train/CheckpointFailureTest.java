package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.Resume;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A full disk while a checkpoint is written, injected at each point of the writer through
 * {@link Checkpoints#writeHook}: the write fails cleanly (no temporary directory left), the run stops naming
 * the intact previous checkpoint, and resuming from it ends where an uninterrupted run ends; with
 * {@code checkpoint_failures} training goes on and the next interval's checkpoint is written.
 */
class CheckpointFailureTest {

    @TempDir
    Path root;

    static final int STEPS = 6;

    /**
     * Child JVM: trains {@code args[1]} steps into {@code args[0]}/disk-full with the disk "full" at the second
     * checkpoint's model file, and exits as the launcher does on a failure (status 1, the message on stderr).
     */
    public static void main(String[] args) {
        TrainConfig c = TrainerTesting.config(Path.of(args[0]), "disk-full", 12, 12, "cpu", Integer.parseInt(args[1]));
        c.saveCheckpointAfter = 2;
        c.keepCheckpoints = 2;
        failAt("model.safetensors", 2);
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            t.run();
        } catch (CheckpointWriteException e) {
            System.err.println("merv pretrain failed: " + e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    /** The done-when case in a child JVM: the process stops with the message; its previous checkpoint resumes. */
    @Test
    void aProcessStoppedByAFullDiskLeavesAResumableCheckpoint() throws Exception {
        Map<String, float[]> ref = train(cfg("ref", STEPS));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-Dai.djl.offline=true", "-Dai.djl.default_engine=PyTorch",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                CheckpointFailureTest.class.getName(), root.toString(), Integer.toString(STEPS)).redirectErrorStream(true);
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("PYTORCH_FLAVOR", "cpu");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("training stopped at step 4", "No space left on device", "step-000002-", "is intact");

        Path run = root.resolve("disk-full");
        Path previous = Checkpoints.latest(run);
        assertThat(previous.getFileName().toString()).startsWith("step-000002-");
        assertThat(Checkpoints.verify(previous)).isEmpty();
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            assertThat(s.map(x -> x.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp-"));
        }
        TrainConfig again = cfg("disk-full", STEPS);
        again.resume = Resume.AUTO;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(again, TrainerTesting.source())) {
            assertThat(t.globalStep()).isEqualTo(2);
            t.run();
            CheckpointIntegrityTest.assertBitwise(ref, TrainerTesting.weights(t));
        }
    }

    @AfterEach
    void clearHook() {
        Checkpoints.writeHook = null;
    }

    private TrainConfig cfg(String id, int steps) {
        TrainConfig c = TrainerTesting.config(root, id, 12, 12, "cpu", steps);
        c.saveCheckpointAfter = 2;
        c.keepCheckpoints = 2;
        return c;
    }

    private static Map<String, float[]> train(TrainConfig c) {
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            t.run();
            return TrainerTesting.weights(t);
        }
    }

    /** Fails the {@code nth} time the writer reaches {@code point}, after leaving half a file there (a full disk). */
    private static void failAt(String point, int... nth) {
        Map<String, Integer> seen = new HashMap<>();
        Checkpoints.writeHook = (step, file) -> {
            int n = seen.merge(step, 1, Integer::sum);
            if (step.equals(point) && java.util.Arrays.stream(nth).anyMatch(k -> k == n)) {
                if (step.endsWith(".safetensors") || step.endsWith(".json")) {
                    Files.write(file, new byte[1000]);
                }
                throw new IOException("No space left on device");
            }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"begin", "optimizer-rank-0-of-1.safetensors", "model.safetensors", Trainer.TRAIN_CONFIG,
        "state.json", "rename", "latest"})
    void aFullDiskStopsTheRunAndLeavesThePreviousCheckpointLoadable(String point) throws IOException {
        Map<String, float[]> ref = train(cfg("ref", STEPS));

        failAt(point, 2);
        TrainConfig c = cfg("full", STEPS);
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            assertThatThrownBy(t::run).isInstanceOf(CheckpointWriteException.class)
                    .hasMessageContaining("training stopped at step 4")
                    .hasMessageContaining("No space left on device")
                    .hasMessageContaining("step-000002-")
                    .hasMessageContaining("--resume auto");
        }
        Checkpoints.writeHook = null;
        Path checkpoints = root.resolve("full/checkpoints");
        try (Stream<Path> s = Files.list(checkpoints)) {
            assertThat(s.map(p -> p.getFileName().toString())).as("nothing half-written is left")
                    .noneMatch(n -> n.startsWith(".tmp-") || n.startsWith(".old-") || n.endsWith(".tmp"));
        }
        List<Path> left = Checkpoints.list(checkpoints);
        assertThat(left.get(0).getFileName().toString()).startsWith("step-000002-");
        assertThat(left).allSatisfy(p -> assertThat(Checkpoints.verify(p)).isEmpty());
        assertThat(Checkpoints.latest(root.resolve("full"))).isEqualTo(left.get(0));
        // only when the pointer failed is the new checkpoint there (complete; the pointer still names step 2)
        assertThat(left).hasSize(point.equals("latest") ? 2 : 1);

        TrainConfig again = cfg("full", STEPS);
        again.resume = Resume.AUTO;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(again, TrainerTesting.source())) {
            assertThat(t.globalStep()).isEqualTo(2);
            t.run();
            CheckpointIntegrityTest.assertBitwise(ref, TrainerTesting.weights(t));
        }
    }

    @Test
    void withCheckpointFailuresTrainingGoesOnAndTheNextIntervalWrites() {
        Map<String, float[]> ref = train(cfg("ref", STEPS));
        failAt("model.safetensors", 2);
        TrainConfig c = cfg("lenient", STEPS);
        c.checkpointFailures = 1;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            assertThat(t.run()).hasSize(STEPS);
            CheckpointIntegrityTest.assertBitwise(ref, TrainerTesting.weights(t));
        }
        List<Path> left = Checkpoints.list(root.resolve("lenient/checkpoints"));
        assertThat(left).extracting(p -> p.getFileName().toString().substring(0, 11))
                .containsExactly("step-000002", "step-000006");
        assertThat(left).allSatisfy(p -> assertThat(Checkpoints.verify(p)).isEmpty());
    }

    @Test
    void moreFailuresInARowThanAllowedStopTheRun() {
        failAt("state.json", 2, 3);
        TrainConfig c = cfg("twice", 10);
        c.checkpointFailures = 1;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            assertThatThrownBy(t::run).isInstanceOf(CheckpointWriteException.class)
                    .hasMessageContaining("training stopped at step 6").hasMessageContaining("step-000002-");
            assertThat(t.globalStep()).isEqualTo(6);
        }
    }

    @Test
    void theFinalCheckpointIsNeverSkipped() {
        failAt("model.safetensors", 3);
        TrainConfig c = cfg("last", 5);
        c.checkpointFailures = 5;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            assertThatThrownBy(t::run).isInstanceOf(CheckpointWriteException.class)
                    .hasMessageContaining("training stopped at step 5").hasMessageContaining("step-000004-")
                    .hasMessageNotContaining("--checkpoint_failures N keeps");
        }
    }
}
