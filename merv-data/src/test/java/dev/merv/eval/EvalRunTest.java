package dev.merv.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.infer.MervInference;
import dev.merv.train.TinySetup;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation protocols end to end on a short merv-tiny run and a benchmark in the reference's layout made of the
 * synthetic videos (48 frames at 16 fps), with {@code time} windows: the MCQ result lines and their rule, frames inside
 * each window, one encoding per video and window, chunks and resume giving the same predictions as one run, the
 * likelihood protocol's files, and the open-ended protocol feeding the judge's request file.
 */
class EvalRunTest {

    /** Synthetic videos' rate (SynthDataset's default). */
    private static final double FPS = 16;

    private static Path runDir;

    @TempDir
    static Path shared;

    @BeforeAll
    static void train() throws Exception {
        TrainingResult r = TinySetup.get().training(shared.resolve("runs")).stage(Stage.FINETUNE).maxSteps(2)
                .learningRate(3e-3).runId("eval").build().run();
        runDir = r.runDir();
    }

    private static MervInference.Options fp32() {
        return MervInference.Options.defaults().withPrecision(Precision.FP32);
    }

    /** Six MCQ questions, two per video sharing its window; three options each. */
    static Path mcqBenchmark(Path root, String name) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve("videos"));
        JsonArray qs = new JsonArray();
        JsonArray as = new JsonArray();
        double[][] windows = {{0.5, 1.5}, {1.0, 2.75}, {2.0, 3.0}};
        for (int v = 0; v < 3; v++) {
            Files.copy(TinySetup.get().video(v), dir.resolve("clip" + v + ".mp4"));
            for (int k = 0; k < 2; k++) {
                String id = "q" + v + k;
                JsonArray time = new JsonArray();
                time.add(windows[v][0]);
                time.add(windows[v][1]);
                JsonArray options = new JsonArray();
                List.of("red", "green", "blue").forEach(options::add);
                qs.add(PyJson.object("video_name", "clip" + v, "num_option", 3, "question_id", id, "options", options,
                        "question", k == 0 ? "What colour is the moving shape?" : "Which colour is the shape?", "time", time));
                as.add(PyJson.object("question_id", id, "answer_id", (v + k) % 3, "answer", options.get((v + k) % 3)));
            }
        }
        Files.writeString(dir.getParent().resolve("test_q.json"), qs.toString(), StandardCharsets.UTF_8);
        Files.writeString(dir.getParent().resolve("test_a.json"), as.toString(), StandardCharsets.UTF_8);
        return dir.getParent();
    }

    private static List<JsonObject> lines(Path f) throws IOException {
        return Files.readAllLines(f).stream().filter(l -> !l.isBlank()).map(l -> JsonParser.parseString(l).getAsJsonObject())
                .toList();
    }

    private static Map<String, String> preds(Path merge) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (JsonObject o : lines(merge)) {
            m.put(o.get("question_id").getAsString(), o.get("pred").getAsString());
        }
        return m;
    }

    @Test
    void mcqGeneratesAndScoresByTheFirstCharacterWithFramesInsideEachWindow(@TempDir Path tmp) throws IOException {
        Benchmark b = Benchmark.open(mcqBenchmark(tmp, "synth"), null);
        Path out = tmp.resolve("out");
        McqEval.Options o = McqEval.Options.defaults().withMaxNewTokens(6).withBatchSize(4);
        McqEval.Result r;
        long encoded;
        try (Models models = Models.load(runDir, fp32(), "cpu")) {
            r = McqEval.run(b, out, o, models);
            encoded = models.get().get(0).mediaEncoded();
        }
        assertThat(r.answered()).isEqualTo(6);
        assertThat(encoded).as("one encoding per video and window").isEqualTo(3);
        Path merge = out.resolve("synth_naive_pred_merge.jsonl");
        assertThat(r.scores()).isPresent();
        assertThat(r.scores().get().merge()).isEqualTo(merge);
        List<JsonObject> lines = lines(merge);
        assertThat(lines).hasSize(6);
        int yes = 0;
        for (JsonObject l : lines) {
            assertThat(l.keySet()).startsWith("video_name", "num_option", "question_id", "options", "question", "time", "pred",
                    "answer_id", "answer", "question_text", "answer_char", "frame_indices", "acc");
            String id = l.get("question_id").getAsString();
            int answerId = l.get("answer_id").getAsInt();
            assertThat(l.get("answer_char").getAsString()).isEqualTo(String.valueOf((char) ('A' + answerId)));
            assertThat(l.get("question_text").getAsString()).startsWith(l.get("question").getAsString()
                    + " Select the correct answer").endsWith("C. blue");
            boolean acc = l.get("acc").getAsBoolean();
            assertThat(acc).as(id).isEqualTo(McqEval.correct(l.get("pred").getAsString(), l.get("answer_char").getAsString()));
            yes += acc ? 1 : 0;
            JsonArray time = l.getAsJsonArray("time");
            double lo = time.get(0).getAsDouble() * FPS;
            double hi = time.get(1).getAsDouble() * FPS - 1;
            JsonArray frames = l.getAsJsonArray("frame_indices");
            assertThat(frames).hasSize(4);
            for (JsonElement enc : frames) {
                assertThat(enc.getAsJsonArray()).isNotEmpty();
                for (JsonElement f : enc.getAsJsonArray()) {
                    assertThat(f.getAsDouble()).as("%s frame", id).isBetween(Math.floor(lo), hi);
                }
            }
        }
        assertThat(r.scores().get().yes()).isEqualTo(yes);
        JsonObject gpt = JsonParser.parseString(Files.readString(out.resolve("synth_naive_gpt.json"))).getAsJsonObject();
        assertThat(gpt.keySet()).containsExactly("q00", "q01", "q10", "q11", "q20", "q21");
        JsonArray first = gpt.getAsJsonArray("q00");
        assertThat(first.get(0).getAsJsonObject().get("pred").getAsString())
                .isEqualTo(lines.get(0).get("acc").getAsBoolean() ? "yes" : "no");
        assertThat(first.get(0).getAsJsonObject().get("score").getAsInt()).isZero();
        assertThat(first.get(1).getAsJsonObject().get("pred").getAsString()).isEqualTo(lines.get(0).get("pred").getAsString());
        JsonObject acc = JsonParser.parseString(Files.readString(out.resolve("synth_naive_accuracy.json"))).getAsJsonObject();
        assertThat(acc.get("accuracy").getAsDouble()).isEqualTo(yes / 6.0);

        // two chunks, one question at a time, give the same predictions as one batched run
        Path split = tmp.resolve("split");
        try (Models models = Models.load(runDir, fp32(), "cpu")) {
            McqEval.Result c0 = McqEval.run(b, split, o.withChunk(2, 0).withBatchSize(1), models);
            assertThat(c0.scores()).isEmpty();
            assertThat(split.resolve("synth_naive_pred_2_0_done.jsonl")).exists();
            McqEval.Result c1 = McqEval.run(b, split, o.withChunk(2, 1).withBatchSize(1), models);
            assertThat(c1.scores()).isPresent();
        }
        assertThat(preds(split.resolve("synth_naive_pred_merge.jsonl"))).isEqualTo(preds(merge));
        assertThat(split.resolve("synth_naive_pred_2_0_done.jsonl")).doesNotExist();

        // a crashed chunk resumes: two answers kept (the third line cut), the model answers the rest only
        Path resumed = tmp.resolve("resumed");
        Files.createDirectories(resumed);
        List<String> done = Files.readAllLines(merge);
        Files.write(resumed.resolve("synth_naive_pred_1_0.jsonl"), List.of(done.get(0), done.get(1),
                done.get(2).substring(0, 20)), StandardCharsets.UTF_8);
        try (Models models = Models.load(runDir, fp32(), "cpu")) {
            McqEval.Result again = McqEval.run(b, resumed, o, models);
            assertThat(again.answered()).isEqualTo(4);
        }
        assertThat(preds(resumed.resolve("synth_naive_pred_merge.jsonl"))).isEqualTo(preds(merge));
        // and a complete benchmark is scored again without loading the model
        try (Models models = Models.load(runDir.resolve("no-such-run"), fp32(), "cpu")) {
            McqEval.Result none = McqEval.run(b, resumed, o, models);
            assertThat(none.answered()).isZero();
            assertThat(models.loaded()).isFalse();
            assertThat(none.scores()).isPresent();
        }
    }

    @Test
    void likelihoodProtocolPredictsALetterInItsOwnFiles(@TempDir Path tmp) throws IOException {
        Benchmark b = Benchmark.open(mcqBenchmark(tmp, "synth_token"), null);
        Path out = tmp.resolve("out");
        try (Models models = Models.load(runDir, fp32(), "cpu")) {
            McqEval.Result r = McqEval.run(b, out, McqEval.Options.defaults().withProtocol(McqEval.Protocol.LIKELIHOOD),
                    models);
            assertThat(r.scores()).isPresent();
        }
        List<JsonObject> lines = lines(out.resolve("synth_token_likelihood_pred_merge.jsonl"));
        assertThat(lines).hasSize(6);
        for (JsonObject l : lines) {
            assertThat(l.get("pred").getAsString()).isIn("A", "B", "C");
            assertThat(l.get("question_text").getAsString()).startsWith("<video>\n");
        }
    }

    @Test
    void openEndedAnswersFeedTheJudgesRequestFile(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("oe").resolve("videos"));
        JsonArray qs = new JsonArray();
        JsonArray as = new JsonArray();
        for (int i = 0; i < 4; i++) {
            Files.copy(TinySetup.get().video(i), dir.resolve("v" + i + ".mp4"));
            qs.add(PyJson.object("video_name", "v" + i, "question_id", String.valueOf(i), "question", "what is moving?"));
            as.add(PyJson.object("question_id", String.valueOf(i), "answer", "a shape"));
        }
        Files.writeString(dir.getParent().resolve("test_q.json"), qs.toString());
        Files.writeString(dir.getParent().resolve("test_a.json"), as.toString());
        Benchmark b = Benchmark.open(tmp.resolve("oe_token"), null);
        Path out = tmp.resolve("out");
        try (Models models = Models.load(runDir, fp32(), "cpu")) {
            OpenEndedEval.Result r = OpenEndedEval.run(b, out, OpenEndedEval.Options.defaults().withMaxNewTokens(6)
                    .withBatchSize(3), models);
            assertThat(r.failed()).isEmpty();
            assertThat(r.merge()).contains(out.resolve("oe_token_pred_merge.jsonl"));
        }
        List<JsonObject> lines = lines(out.resolve("oe_token_pred_merge.jsonl"));
        assertThat(lines).hasSize(4);
        for (JsonObject l : lines) {
            assertThat(l.keySet()).startsWith("video_name", "question_id", "question", "pred", "message", "mixer_value",
                    "answer");
            assertThat(l.get("message").getAsString()).isEqualTo("what is moving?\n<video>");
            assertThat(l.getAsJsonArray("mixer_value")).hasSize(4);
        }
        Path req = out.resolve("oe_token_gpt_batch_input.jsonl");
        Judge.Prepared p = Judge.prepare(out.resolve("oe_token_pred_merge.jsonl"), req, Judge.DEFAULT_MODEL);
        assertThat(p.requests()).isEqualTo(4);
        assertThat(Files.readAllLines(req)).hasSize(4);
    }
}
