package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.data.synth.SynthDataset;
import dev.merv.eval.McqEval;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code eval-mcq} on a benchmark in the reference's format (merv-reference.md §8.2) built from the
 * synthetic videos, run against the shared tiny pretrain run; and the prompt text itself.
 */
class McqEvalTest {

    @Test
    void promptIsTheReferenceNaiveStrategyTextForThreeOptions() {
        String expected = "What colour is the moving shape? Select the correct answer from the following options."
                + " Write your answer as only one of {A, B, C} and nothing else.\n\n"
                + "    A. red\nB. green\nC. blue";
        assertThat(McqEval.prompt("What colour is the moving shape?", List.of("red", "green", "blue"), false))
                .isEqualTo(expected);
        assertThat(McqEval.prompt("What colour is the moving shape?", List.of("red", "green", "blue"), true))
                .isEqualTo("<video>\n" + expected);
        assertThat(McqEval.prompt("Q?", List.of("x", "y", "z", "u", "v"), false))
                .contains("only one of {A, B, C, D, E} and nothing else.\n\n    A. x\nB. y\nC. z\nD. u\nE. v")
                .endsWith("E. v");
    }

    @Test
    void evalMcqScoresEveryQuestionAndWritesTheResults(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path bench = tmp.resolve("synth_mcq");
        List<String> truth = writeBenchmark(run, bench, 4);
        Path out = tmp.resolve("eval");
        Launch r = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--weights_root", run.weights().toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("eval-mcq: synth_mcq accuracy").contains("mcq_results.json");

        Path results = out.resolve("mcq_results.json");
        assertThat(results).isRegularFile();
        JsonObject o = JsonParser.parseString(Files.readString(results)).getAsJsonObject();
        double acc = o.get("accuracy").getAsDouble();
        assertThat(acc).isBetween(0.0, 1.0);
        assertThat(o.get("total").getAsInt()).isEqualTo(4);
        int correct = o.get("correct").getAsInt();
        assertThat(acc).isEqualTo(correct / 4.0);
        JsonArray preds = o.getAsJsonArray("predictions");
        assertThat(preds).hasSize(4);
        int counted = 0;
        for (int i = 0; i < preds.size(); i++) {
            JsonObject p = preds.get(i).getAsJsonObject();
            assertThat(p.get("question_id").getAsString()).isEqualTo("q" + i);
            assertThat(p.get("pred").getAsString()).isIn("A", "B", "C");
            assertThat(p.get("answer").getAsString()).isEqualTo(truth.get(i));
            boolean right = p.get("pred").getAsString().equals(p.get("answer").getAsString());
            assertThat(p.get("correct").getAsBoolean()).isEqualTo(right);
            counted += right ? 1 : 0;
        }
        assertThat(counted).isEqualTo(correct);
        // the scorer's rows are the reference prompt, one per option letter
        JsonArray rows = JsonParser.parseString(Files.readString(out.resolve("mcq_rows.json"))).getAsJsonArray();
        assertThat(rows).hasSize(12);
        String human = rows.get(0).getAsJsonObject().getAsJsonArray("conversations").get(0).getAsJsonObject()
                .get("value").getAsString();
        assertThat(human).startsWith("What colour is the moving shape? Select the correct answer")
                .endsWith("\n\n    A. " + options(0).get(0) + "\nB. " + options(0).get(1) + "\nC. " + options(0).get(2));
    }

    @Test
    void aBenchmarkWithTooManyOptionsOrAMissingAnswerFailsNamingTheEntry(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path bench = tmp.resolve("bad");
        writeBenchmark(run, bench, 1);
        JsonArray qs = JsonParser.parseString(Files.readString(bench.resolve("test_q.json"))).getAsJsonArray();
        JsonObject q = qs.get(0).getAsJsonObject();
        JsonArray six = new JsonArray();
        List.of("a", "b", "c", "d", "e", "f").forEach(six::add);
        q.add("options", six);
        q.addProperty("num_option", 6);
        Files.writeString(bench.resolve("test_q.json"), qs.toString());
        Launch r = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--weights_root", run.weights().toString(), "--out", tmp.resolve("o").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("test_q.json").contains("q0").contains("at most 5 options");

        writeBenchmark(run, bench, 1);
        Files.writeString(bench.resolve("test_a.json"), "[]");
        Launch r2 = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--weights_root", run.weights().toString(), "--out", tmp.resolve("o").toString());
        assertThat(r2.code()).isEqualTo(2);
        assertThat(r2.err()).contains("test_a.json").contains("no answer for question_id q0");
    }

    /** Three colours per question: the true one at a rotating position, two others. */
    private static List<String> options(int i) {
        return List.of(SynthDataset.COLOURS[i % 5], SynthDataset.COLOURS[(i + 1) % 5], SynthDataset.COLOURS[(i + 2) % 5]);
    }

    /**
     * Writes {@code n} colour questions about the run's synthetic videos in the reference layout; returns the
     * answer letters.
     */
    static List<String> writeBenchmark(TinyRun run, Path bench, int n) throws Exception {
        Files.createDirectories(bench.resolve("videos"));
        Map<String, String> colourOf = new java.util.HashMap<>();
        for (JsonElement e : JsonParser.parseString(Files.readString(run.videollava().resolve(
                "videochatgpt_llavaimage_tune.json"))).getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            if (o.has("video")) {
                colourOf.put(o.get("video").getAsString(),
                        o.getAsJsonArray("conversations").get(1).getAsJsonObject().get("value").getAsString());
            }
        }
        JsonArray qs = new JsonArray();
        JsonArray as = new JsonArray();
        List<String> letters = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path video = run.video(i);
            String colour = colourOf.get(run.videollava().relativize(video).toString().replace('\\', '/'));
            assertThat(colour).as("colour of %s", video).isNotNull();
            List<String> opts = new ArrayList<>(options(i));
            int answer = i % 3;
            if (!opts.contains(colour)) {
                opts.set(answer, colour);
            } else {
                answer = opts.indexOf(colour);
            }
            assertThat(Set.copyOf(opts)).hasSize(3);
            Files.copy(video, bench.resolve("videos/v" + i + ".mp4"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            JsonObject q = new JsonObject();
            q.addProperty("video_name", "v" + i);
            q.addProperty("question_id", "q" + i);
            q.addProperty("question", "What colour is the moving shape?");
            JsonArray o = new JsonArray();
            opts.forEach(o::add);
            q.add("options", o);
            q.addProperty("num_option", 3);
            qs.add(q);
            JsonObject a = new JsonObject();
            a.addProperty("question_id", "q" + i);
            a.addProperty("answer_id", answer);
            a.addProperty("answer", colour);
            as.add(a);
            letters.add(String.valueOf((char) ('A' + answer)));
        }
        Files.writeString(bench.resolve("test_q.json"), qs.toString());
        Files.writeString(bench.resolve("test_a.json"), as.toString());
        return letters;
    }
}
