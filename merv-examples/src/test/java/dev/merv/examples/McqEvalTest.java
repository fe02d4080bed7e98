package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.Catalog;
import dev.merv.data.synth.SynthDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation commands on the shared tiny pretrain run and a benchmark in the reference's layout built from the
 * synthetic videos: {@code eval-mcq} (both protocols, chunks), {@code eval-openended}, {@code eval-judge
 * prepare|collect}, and {@code export} + {@code generate --weights.<id>} on the exported run. The protocols' rules are
 * tested in merv-data ({@code dev.merv.eval}); these check that the commands only parse flags and call them.
 */
class McqEvalTest {

    @Test
    void evalMcqWritesTheReferencesFilesInChunks(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path bench = tmp.resolve("synth_mcq");
        writeBenchmark(run, bench, 4);
        Path out = tmp.resolve("eval");
        for (int k = 0; k < 2; k++) {
            Launch r = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                    "--weights_root", run.weights().toString(), "--out", out.toString(), "--num_chunks", "2",
                    "--chunk_idx", String.valueOf(k), "--max_new_tokens", "4", "--precision", "fp32", "--devices", "cpu");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("eval-mcq: synth_mcq chunk " + k + " of 2: 2 questions, 2 answered now");
            if (k == 0) {
                assertThat(r.out()).contains("waiting for the other chunks");
            } else {
                assertThat(r.out()).contains("eval-mcq: synth_mcq accuracy").contains("synth_mcq_naive_pred_merge.jsonl");
            }
        }
        List<String> lines = Files.readAllLines(out.resolve("synth_mcq_naive_pred_merge.jsonl"));
        assertThat(lines).hasSize(4);
        JsonObject first = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertThat(first.keySet()).contains("pred", "answer_id", "answer", "question_text", "answer_char", "frame_indices",
                "acc");
        assertThat(out.resolve("synth_mcq_naive_gpt.json")).isRegularFile();

        Launch lik = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--eval_dataset", "synth_mcq_token", "--weights_root", run.weights().toString(), "--out", out.toString(),
                "--protocol", "likelihood", "--precision", "fp32", "--devices", "cpu");
        assertThat(lik.code()).as(lik.err()).isZero();
        List<String> liks = Files.readAllLines(out.resolve("synth_mcq_token_likelihood_pred_merge.jsonl"));
        assertThat(liks).hasSize(4).allMatch(l -> l.contains("\"question_text\": \"<video>\\n"));

        Launch bad = Launch.run("eval-mcq", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--protocol", "vote");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--protocol vote: expected one of generate, likelihood");
    }

    @Test
    void openEndedAnswersGoThroughTheOfflineJudge(@TempDir Path tmp) throws Exception {
        TinyRun run = TinyRun.get();
        Path bench = tmp.resolve("synth_oe");
        Files.createDirectories(bench.resolve("videos"));
        JsonArray qs = new JsonArray();
        JsonArray as = new JsonArray();
        for (int i = 0; i < 3; i++) {
            Files.copy(run.video(i), bench.resolve("videos/v" + i + ".mp4"));
            JsonObject q = new JsonObject();
            q.addProperty("video_name", "v" + i);
            q.addProperty("question_id", String.valueOf(i));
            q.addProperty("question", "what is moving?");
            qs.add(q);
            JsonObject a = new JsonObject();
            a.addProperty("question_id", String.valueOf(i));
            a.addProperty("answer", "a shape");
            as.add(a);
        }
        Files.writeString(bench.resolve("test_q.json"), qs.toString());
        Files.writeString(bench.resolve("test_a.json"), as.toString());
        Path out = tmp.resolve("eval");
        Launch r = Launch.run("eval-openended", "--run", run.runDir().toString(), "--benchmark", bench.toString(),
                "--weights_root", run.weights().toString(), "--out", out.toString(), "--max_new_tokens", "4",
                "--batch_size", "2", "--precision", "fp32", "--devices", "cpu");
        assertThat(r.code()).as(r.err()).isZero();
        Path merge = out.resolve("synth_oe_pred_merge.jsonl");
        assertThat(r.out()).contains("predictions in " + merge);
        assertThat(Files.readAllLines(merge)).hasSize(3).allMatch(l -> l.contains("\"mixer_value\": ["));

        Launch prep = Launch.run("eval-judge", "prepare", "--pred", merge.toString());
        assertThat(prep.code()).as(prep.err()).isZero();
        Path requests = out.resolve("synth_oe_gpt_batch_input.jsonl");
        assertThat(prep.out()).contains("3 requests").contains(requests.toString());
        assertThat(Files.readAllLines(requests)).hasSize(3);

        Path replies = tmp.resolve("batch_output.jsonl");
        Files.write(replies, List.of(reply("0", "{'pred': 'yes', 'score': 4}"), reply("1", "not a dict")));
        Launch col = Launch.run("eval-judge", "collect", "--pred", merge.toString(), "--replies", replies.toString());
        assertThat(col.code()).as(col.err()).isZero();
        assertThat(col.out()).contains("accuracy 33.33% (yes 1, no 2), mean score 1.333;"
                + " 1 unparseable and 1 missing replies counted as no/0");
        assertThat(out.resolve("synth_oe_gpt.json")).isRegularFile();

        Launch wrong = Launch.run("eval-judge", "send", "--pred", merge.toString());
        assertThat(wrong.code()).isEqualTo(2);
        assertThat(wrong.err()).contains("'prepare' or 'collect'");
    }

    @Test
    void anExportedRunGeneratesWithBackbonesNamedOneByOne(@TempDir Path tmp) {
        TinyRun run = TinyRun.get();
        Path out = tmp.resolve("reference-layout");
        Launch e = Launch.run("export", "--run", run.runDir().toString(), "--out", out.toString());
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.out()).contains("checkpoints/latest-checkpoint.pt".replace('/', java.io.File.separatorChar));
        assertThat(out.resolve("checkpoints/latest-checkpoint.pt")).isRegularFile();
        // an exported run has no weights.json: name each backbone
        List<String> argv = new ArrayList<>(List.of("generate", "--run", out.toString(), "--video", run.video(0).toString(),
                "--prompt", "What colour is it?", "--max_new_tokens", "3", "--precision", "fp32", "--start", "0.5", "--end",
                "2"));
        for (String id : List.of(Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2, Catalog.TINY_HIERA, Catalog.TINY_SIGLIP,
                Catalog.TINY_LLAMA2)) {
            argv.add("--weights." + id);
            argv.add(run.weights().resolve(id).toString());
        }
        Launch g = Launch.run(argv.toArray(String[]::new));
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out()).endsWith(System.lineSeparator());
        Launch unknown = Launch.run("generate", "--run", out.toString(), "--prompt", "hi", "--weights.no-such-encoder", "/x");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("--weights.no-such-encoder names no backbone id");
    }

    private static String reply(String id, String content) {
        return "{\"id\": \"r" + id + "\", \"custom_id\": \"" + id + "\", \"response\": {\"status_code\": 200, \"body\":"
                + " {\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \""
                + content.replace("\"", "\\\"") + "\"}}]}}, \"error\": null}";
    }

    /** Three colours per question: the true one at a rotating position, two others. */
    private static List<String> options(int i) {
        return List.of(SynthDataset.COLOURS[i % 5], SynthDataset.COLOURS[(i + 1) % 5], SynthDataset.COLOURS[(i + 2) % 5]);
    }

    /**
     * Writes {@code n} colour questions about the run's synthetic videos in the reference layout (each with a
     * {@code time} window); returns the answer letters.
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
            JsonArray time = new JsonArray();
            time.add(0.5);
            time.add(2.5);
            q.add("time", time);
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
