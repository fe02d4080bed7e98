package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.infer.MervInference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pretrain} end to end on the CPU: merv-tiny's backbones written as HF-layout directories, the
 * synthetic Video-LLaVA dataset, four finetune steps with the real trainer; then {@code generate} and
 * {@code plot} on the run, and {@code --resume} continuing it.
 */
class PretrainEndToEndTest {

    @Test
    void pretrainWritesARunDirectoryWithMetricsCheckpointAndReports() throws Exception {
        TinyRun run = TinyRun.get();
        List<StepRecord> records = run.records();
        assertThat(records).hasSize(TinyRun.STEPS);
        for (int i = 0; i < records.size(); i++) {
            StepRecord r = records.get(i);
            assertThat(r.step()).isEqualTo(i + 1);
            assertThat(r.loss()).as("loss of step %d", r.step()).isFinite().isPositive();
            assertThat(r.gradNorm()).as("grad norm of step %d", r.step()).isFinite();
            assertThat(r.samples()).isPositive();
        }
        Path dir = run.runDir();
        assertThat(dir).isEqualTo(run.runRoot().resolve(TinyRun.RUN_ID));
        List<String> metrics = stepLines(dir);
        assertThat(metrics).hasSize(TinyRun.STEPS);
        for (int i = 0; i < metrics.size(); i++) {
            JsonObject o = JsonParser.parseString(metrics.get(i)).getAsJsonObject();
            assertThat(o.get("step").getAsLong()).isEqualTo(i + 1);
            assertThat(o.get("loss").getAsDouble()).isEqualTo(records.get(i).loss());
        }
        Path ckpt = Checkpoints.latest(dir);
        assertThat(ckpt).isDirectory();
        assertThat(ckpt.getFileName().toString()).startsWith("step-000004-");
        assertThat(ckpt.resolve("model.safetensors")).isRegularFile();
        assertThat(ckpt.resolve("state.json")).isRegularFile();
        JsonObject state = JsonParser.parseString(Files.readString(ckpt.resolve("state.json"))).getAsJsonObject();
        assertThat(state.get("step").getAsLong()).isEqualTo(TinyRun.STEPS);
        Path cfg = dir.resolve("config.json");
        assertThat(cfg).isRegularFile();
        JsonObject pc = JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
        assertThat(pc.toString()).contains("merv-tiny").contains("llama2-tiny-pure");
        Path skipped = dir.resolve("skipped.json");
        assertThat(skipped).isRegularFile();
        assertThat(JsonParser.parseString(Files.readString(skipped)).getAsJsonObject().get("skipped").getAsInt()).isZero();
    }

    @Test
    void generateAnswersAboutASyntheticVideoFromTheRun() {
        TinyRun run = TinyRun.get();
        Launch r = Launch.run("generate", "--run", run.runDir().toString(), "--weights_root", run.weights().toString(),
                "--video", run.video(0).toString(), "--prompt", "What colour is it?", "--max_new_tokens", "4");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("failed");
        // the command prints the streamed greedy answer of the run's latest checkpoint for that video and prompt:
        // the library's own answer, loaded separately (fp32, deterministic)
        MervInference.Answer want;
        try (MervInference model = MervInference.load(run.runDir(),
                MervInference.Options.defaults().withWeights(BackboneWeights.root(run.weights())))) {
            want = model.generate(run.video(0), "What colour is it?", model.greedy(4), piece -> { });
        }
        assertThat(want.tokens().length).isBetween(0, 4);
        String expected = want.text() + System.lineSeparator() + (want.text().isEmpty()
                ? "(empty answer: " + want.finish() + " after " + want.tokens().length + " token(s))" + System.lineSeparator()
                : "");
        assertThat(r.out()).endsWith(expected);
    }

    @Test
    void generateWithoutTheBackboneWeightsFailsNamingThem(@TempDir Path tmp) {
        TinyRun run = TinyRun.get();
        Launch r = Launch.run("generate", "--run", run.runDir().toString(), "--weights_root", tmp.toString(),
                "--prompt", "hi", "--max_new_tokens", "1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("weights for backbone").contains(tmp.toString());
    }

    @Test
    void dataCheckScansTheRunsDatasetAndWritesTheReport(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path report = tmp.resolve("check/finetune.json");
        Launch r = Launch.run("data", "check", "--root", run.videollava().toString(), "--stage", "finetune", "--json",
                report.toString(), "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("finetune: 12 entries, 12 usable, 0 skipped");
        assertThat(report).isRegularFile();
    }

    @Test
    void plotWritesTheLossCurveOfTheRun(@TempDir Path tmp) {
        TinyRun run = TinyRun.get();
        Path out = tmp.resolve("plots");
        Launch r = Launch.run("plot", "--run", run.runDir().toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(out.resolve("loss.png")).isRegularFile();
        assertThat(out.resolve("lr.png")).isRegularFile();
        assertThat(out.resolve("grad_norm.png")).isRegularFile();
        assertThat(out.resolve("fusion_weights.png")).as("the run logs mixing_weights per step").isRegularFile();
        assertThat(r.out()).contains("wrote " + out.resolve("loss.png"));
    }

    /**
     * The literal request: a 4-step run resumed with {@code finetune_max_steps 6}. The trainer refuses it before
     * any step because the checkpoint's LR schedule (4 steps) is not this run's (6); nothing is written.
     */
    @Test
    void resumeWithALongerScheduleIsRefusedBeforeAnyStep(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path runRoot = run.copyRunRoot(tmp.resolve("runs"));
        dev.merv.train.Training inv = PretrainCommand.parse(TinyRun.argv(run.root(), runRoot, "--resume", "true",
                "--model.finetune_max_steps", "6"));
        assertThatThrownBy(inv::run).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("schedule has 4 steps, this run 6");
        Path dir = runRoot.resolve(TinyRun.RUN_ID);
        assertThat(stepLines(dir)).hasSize(4);
        assertThat(Checkpoints.latest(dir).getFileName().toString()).startsWith("step-000004-");
    }

    /**
     * A run's own {@code config.json} (what the trainer wrote) is a complete command line: {@code --config} reads it,
     * later flags override it, and the new run trains and records the same model and hyper-parameters.
     */
    @Test
    void aRunsConfigJsonStartsAnotherRun(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path cfg = run.runDir().resolve("config.json");
        Path runRoot = tmp.resolve("runs");
        dev.merv.train.Training again = PretrainCommand.parse("--config", cfg.toString(), "--run_root_dir", runRoot.toString(),
                "--run_id", "again", "--weights_root", run.weights().toString(), "--model.finetune_max_steps", "1",
                "--loader_threads", "1");
        List<StepRecord> steps = again.run().steps();
        assertThat(steps).hasSize(1);
        assertThat(steps.get(0).loss()).isFinite().isPositive();
        JsonObject was = JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
        JsonObject now = JsonParser.parseString(Files.readString(runRoot.resolve("again/config.json"))).getAsJsonObject();
        assertThat(now.get("run_id").getAsString()).isEqualTo("again");
        JsonObject wasModel = was.getAsJsonObject("model");
        JsonObject nowModel = now.getAsJsonObject("model");
        assertThat(nowModel.get("finetune_max_steps").getAsInt()).isEqualTo(1);
        nowModel.remove("finetune_max_steps");
        wasModel.remove("finetune_max_steps");
        assertThat(nowModel).as("the model and its hyper-parameters come from the first run's config.json").isEqualTo(wasModel);
        assertThat(now.get("seed")).isEqualTo(was.get("seed"));
        assertThat(now.getAsJsonObject("dataset")).isEqualTo(was.getAsJsonObject("dataset"));
    }

    /** A 6-step run stopped after 4 ({@code --stop_after_steps}) and resumed: steps 5 and 6, one continuous log. */
    @Test
    void resumeContinuesTheStepNumbering(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path runRoot = tmp.resolve("runs");
        List<StepRecord> first = PretrainCommand.parse(TinyRun.argv(run.root(), runRoot,
                "--model.finetune_max_steps", "6", "--stop_after_steps", "4")).run().steps();
        assertThat(first).extracting(StepRecord::step).containsExactly(1L, 2L, 3L, 4L);
        Path dir = runRoot.resolve(TinyRun.RUN_ID);
        assertThat(Checkpoints.latest(dir).getFileName().toString()).startsWith("step-000004-");

        List<StepRecord> more = PretrainCommand.parse(TinyRun.argv(run.root(), runRoot, "--resume", "true",
                "--model.finetune_max_steps", "6")).run().steps();
        assertThat(more).extracting(StepRecord::step).containsExactly(5L, 6L);
        assertThat(more).allSatisfy(r -> assertThat(r.loss()).isFinite());
        List<String> metrics = stepLines(dir);
        assertThat(metrics).hasSize(6);
        for (int i = 0; i < metrics.size(); i++) {
            assertThat(JsonParser.parseString(metrics.get(i)).getAsJsonObject().get("step").getAsLong()).isEqualTo(i + 1);
        }
        assertThat(Checkpoints.latest(dir).getFileName().toString()).startsWith("step-000006-");
    }

    /** The per-step lines of a run's metrics.jsonl (without each invocation's start line). */
    static List<String> stepLines(Path runDir) throws java.io.IOException {
        return Files.readAllLines(runDir.resolve("metrics.jsonl")).stream()
                .filter(l -> !l.isBlank() && !l.contains("\"event\"")).toList();
    }
}
