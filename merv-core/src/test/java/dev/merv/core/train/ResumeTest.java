package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stop-and-resume continues exactly: the loss sequence and final weights of a run interrupted after
 * step k equal the uninterrupted run's; a checkpoint written by two replicas resumes on one and on
 * three (the optimizer state is re-sharded). The resumed run crosses an epoch boundary.
 */
class ResumeTest {

    @TempDir
    Path root;

    /** 96 rows / 12 per step = 8 steps per epoch; 12 steps = 1.5 epochs. */
    static final int STEPS = 12;

    private TrainConfig cfg(String id, String devices, int perDevice) {
        TrainConfig c = TrainerTesting.config(root, id, 12, perDevice, devices, STEPS);
        c.saveCheckpointAfter = 3;
        c.keepCheckpoints = 2;
        c.recompute = true;
        return c;
    }

    private record Result(double[] losses, Map<String, float[]> weights) {}

    private Result full(String id, String devices, int perDevice) {
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(cfg(id, devices, perDevice), TrainerTesting.source())) {
            List<StepRecord> h = t.run();
            return new Result(TrainerTesting.losses(h), TrainerTesting.weights(t));
        }
    }

    private Result interrupted(String id, String devicesBefore, int pdBefore, String devicesAfter, int pdAfter, int k) {
        List<StepRecord> all = new ArrayList<>();
        TrainConfig first = cfg(id, devicesBefore, pdBefore);
        first.stopAfterSteps = k;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(first, TrainerTesting.source())) {
            all.addAll(t.run());
            assertThat(t.globalStep()).isEqualTo(k);
        }
        TrainConfig second = cfg(id, devicesAfter, pdAfter);
        if (devicesAfter.equals("cpu:3")) {
            // the reference's flag: an explicit checkpoint
            second.resumeFromCheckpoint = Checkpoints.latest(root.resolve(id)).toString();
        } else {
            second.resume = dev.merv.core.config.Resume.REQUIRED;
        }
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(second, TrainerTesting.source())) {
            assertThat(t.globalStep()).isEqualTo(k);
            all.addAll(t.run());
            return new Result(TrainerTesting.losses(all), TrainerTesting.weights(t));
        }
    }

    @Test
    void resumedRunEqualsUninterruptedOne() throws IOException {
        Result ref = full("ref", "cpu", 12);
        Result res = interrupted("res", "cpu", 12, "cpu", 12, 5);
        assertThat(res.losses).hasSize(STEPS);
        for (int i = 0; i < STEPS; i++) {
            assertThat(Math.abs(res.losses[i] - ref.losses[i])).as("loss of step %d", i + 1).isLessThanOrEqualTo(1e-6);
        }
        assertThat(TrainerTesting.maxDiff(ref.weights, res.weights)).isLessThanOrEqualTo(1e-6);

        // run directory: config, one metrics line per step (the resumed run appends without duplicates) after each
        // invocation's start line, rotation
        Path run = root.resolve("res");
        assertThat(run.resolve(Trainer.TRAIN_CONFIG)).exists();
        List<String> all = Files.readAllLines(run.resolve("metrics.jsonl"));
        List<String> events = all.stream().filter(l -> l.contains("\"event\"")).toList();
        assertThat(events).hasSize(2);
        assertThat(events.get(0)).contains("\"step\":0", "\"start\":\"fresh\"");
        assertThat(events.get(1)).contains("\"step\":5", "\"start\":\"resumed\"", "step-000005-");
        List<String> lines = all.stream().filter(l -> !l.contains("\"event\"")).toList();
        assertThat(lines).hasSize(STEPS);
        assertThat(lines.get(0)).contains("\"step\":1", "\"lr\":0.0", "\"grad_norm\"", "\"tokens_per_s\"",
                "\"loader_wait_s\"", "\"skipped_samples\"");
        // the reference's smoothed loss continues across the resume (its window is in the checkpoint)
        List<String> refLines = Files.readAllLines(root.resolve("ref").resolve("metrics.jsonl")).stream()
                .filter(l -> !l.contains("\"event\"")).toList();
        for (int i = 0; i < STEPS; i++) {
            double a = com.google.gson.JsonParser.parseString(lines.get(i)).getAsJsonObject().get("Finetune/Loss")
                    .getAsDouble();
            double b = com.google.gson.JsonParser.parseString(refLines.get(i)).getAsJsonObject().get("Finetune/Loss")
                    .getAsDouble();
            assertThat(Math.abs(a - b)).as("Finetune/Loss of step %d", i + 1).isLessThanOrEqualTo(1e-6);
        }
        List<Path> ckpts = Checkpoints.list(run.resolve("checkpoints"));
        assertThat(ckpts).hasSize(2);
        assertThat(ckpts.get(1).getFileName().toString()).startsWith("step-000012-epoch-01-loss=");
        assertThat(Checkpoints.latest(run)).isEqualTo(ckpts.get(1));
        assertThat(ckpts.get(1).resolve("model.safetensors")).exists();
        assertThat(ckpts.get(1).resolve("optimizer-rank-0-of-1.safetensors")).exists();
        assertThat(ckpts.get(1).resolve("state.json")).exists();
        try (var st = dev.merv.core.weights.SafeTensors.open(ckpts.get(1).resolve("model.safetensors"))) {
            assertThat(st.names()).containsExactlyInAnyOrderElementsOf(ref.weights.keySet());
        }
        try (var list = Files.list(run.resolve("checkpoints"))) {
            assertThat(list.filter(p -> p.getFileName().toString().startsWith(".tmp"))).isEmpty();
        }
    }

    @Test
    void twoReplicaCheckpointResumesOnOneAndOnThree() {
        Result ref = full("ref2", "cpu:2", 6);
        Result onOne = interrupted("to1", "cpu:2", 6, "cpu", 12, 4);
        Result onThree = interrupted("to3", "cpu:2", 6, "cpu:3", 4, 4);
        for (Result r : List.of(onOne, onThree)) {
            for (int i = 0; i < STEPS; i++) {
                assertThat(Math.abs(r.losses[i] - ref.losses[i])).as("loss of step %d", i + 1).isLessThanOrEqualTo(1e-5);
            }
            assertThat(TrainerTesting.maxDiff(ref.weights, r.weights)).isLessThanOrEqualTo(2e-6);
        }
    }

    @Test
    void resumeNeedsTheSameSchedule() {
        TrainConfig first = cfg("sched", "cpu", 12);
        first.stopAfterSteps = 3;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(first, TrainerTesting.source())) {
            t.run();
        }
        TrainConfig second = cfg("sched", "cpu", 12);
        second.maxSteps = STEPS + 4;
        second.resume = dev.merv.core.config.Resume.REQUIRED;
        assertThatThrownBy(() -> TrainerTesting.trainer(second, TrainerTesting.source()))
                .hasMessageContaining("schedule has " + STEPS + " steps");
    }

    @Test
    void batchThatDoesNotDivideAcrossReplicasIsAnError() {
        TrainConfig c = TrainerTesting.config(root, "w19", 12, 4, "cpu:2", 2);
        assertThatThrownBy(() -> TrainerTesting.trainer(c, TrainerTesting.source()))
                .hasMessageContaining("global_batch_size 12 is not a multiple of per_device_batch_size 4 x 2 replicas");
    }
}
