package dev.merv.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.data.video.ClipWindow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference's evaluation rules that need no model: prompt strings, the first-character rule, the chunk
 * arithmetic, the benchmark layout (windows, media lookup, {@code _token} names), result files (resume, merge),
 * Python-style JSON and the NExT-QA breakdown.
 */
class BenchmarkFilesTest {

    @Test
    void mcqPromptIsTheReferenceNaiveStrategy() {
        String expected = "What colour is the moving shape? Select the correct answer from the following options."
                + " Write your answer as only one of {A, B, C} and nothing else.\n\n"
                + "    A. red\nB. green\nC. blue";
        assertThat(McqEval.prompt("What colour is the moving shape?", List.of("red", "green", "blue"), false))
                .isEqualTo(expected);
        assertThat(McqEval.prompt("What colour is the moving shape?", List.of("red", "green", "blue"), true))
                .isEqualTo("<video>\n" + expected);
        assertThat(McqEval.prompt("Q?", List.of("x", "y", "z", "u", "v"), false))
                .endsWith("only one of {A, B, C, D, E} and nothing else.\n\n    A. x\nB. y\nC. z\nD. u\nE. v");
        // the letters come from num_option, the lines from the options (as in the reference)
        assertThat(McqEval.prompt("Q?", List.of("x", "y", "z"), 2, false)).contains("{A, B}").endsWith("C. z");
        assertThatThrownBy(() -> McqEval.prompt("Q?", List.of("a", "b", "c", "d", "e", "f"), false))
                .hasMessageContaining("at most 5 options");
    }

    @Test
    void openEndedMessageAppendsTheVideoTag() {
        assertThat(OpenEndedEval.message("what is the man doing?", false)).isEqualTo("what is the man doing?");
        assertThat(OpenEndedEval.message("what is the man doing?", true)).isEqualTo("what is the man doing?\n<video>");
    }

    @Test
    void firstCharacterRule() {
        assertThat(McqEval.correct("B", "B")).isTrue();
        assertThat(McqEval.correct("b) green", "B")).isTrue();
        assertThat(McqEval.correct("B. green", "b")).isTrue();
        assertThat(McqEval.correct("The answer is B", "B")).isFalse();
        assertThat(McqEval.correct(" B", "B")).isFalse();
        assertThat(McqEval.correct("", "A")).isFalse();
        assertThat(McqEval.correct("a", "A")).isTrue();
    }

    @Test
    void chunksAreTheReferencesContiguousCeilSplits() {
        // split_list: chunk size ceil(len / n)
        assertThat(Benchmark.chunk(10, 4, 0)).containsExactly(0, 3);
        assertThat(Benchmark.chunk(10, 4, 1)).containsExactly(3, 6);
        assertThat(Benchmark.chunk(10, 4, 3)).containsExactly(9, 10);
        assertThat(Benchmark.chunk(9, 4, 2)).containsExactly(6, 9);
        // ceil(9/4) = 3 gives three chunks; the fourth is empty (the reference would fail on it)
        assertThat(Benchmark.chunk(9, 4, 3)).containsExactly(9, 9);
        assertThat(Benchmark.chunk(7, 1, 0)).containsExactly(0, 7);
        assertThat(Benchmark.chunk(2, 3, 2)).containsExactly(2, 2);
        // every question is in exactly one chunk
        for (int size : new int[] {1, 5, 17, 100}) {
            for (int n = 1; n <= 9; n++) {
                int covered = 0;
                for (int k = 0; k < n; k++) {
                    int[] c = Benchmark.chunk(size, n, k);
                    assertThat(c[0]).isEqualTo(Math.min(size, covered));
                    covered = c[1];
                }
                assertThat(covered).isEqualTo(size);
            }
        }
        assertThatThrownBy(() -> Benchmark.chunk(10, 4, 4)).hasMessageContaining("--chunk_idx must be in 0..3");
        assertThatThrownBy(() -> Benchmark.chunk(10, 0, 0)).hasMessageContaining("--num_chunks");
    }

    @Test
    void aBenchmarkReadsWindowsFindsMediaAndNamesBadEntries(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("Perception"));
        Files.createDirectories(dir.resolve("videos/clip_dir"));
        Files.writeString(dir.resolve("videos/v1.mp4"), "x");
        Files.writeString(dir.resolve("videos/v2.webm"), "x");
        Files.writeString(dir.resolve("test_q.json"), "[{\"video_name\": \"v1\", \"question_id\": \"a\", \"question\": \"q1\","
                + " \"time\": [1.5, 3.0]}, {\"video_name\": \"v2\", \"question_id\": 7, \"question\": \"q2\", \"end_frame\": 595},"
                + " {\"video_name\": \"clip_dir\", \"question_id\": \"c\", \"question\": \"q3\", \"time\": [NaN, NaN]}]");
        Files.writeString(dir.resolve("test_a.json"), "[{\"question_id\": \"a\", \"answer\": \"x\"}, {\"question_id\": 7,"
                + " \"answer\": \"y\"}]");
        // the reference's name for the same data with the <video> placeholder
        Benchmark b = Benchmark.open(tmp.resolve("Perception_token"), null);
        assertThat(b.name()).isEqualTo("Perception_token");
        assertThat(b.dataName()).isEqualTo("Perception");
        assertThat(b.token()).isTrue();
        assertThat(b.dir()).isEqualTo(dir);
        List<Benchmark.Question> qs = b.questions();
        assertThat(qs).extracting(Benchmark.Question::id).containsExactly("a", "7", "c");
        assertThat(qs.get(0).window()).isEqualTo(ClipWindow.seconds(1.5, 3.0));
        assertThat(qs.get(1).window()).isEqualTo(ClipWindow.upToFrame(595));
        assertThat(qs.get(2).window().whole()).isTrue();
        assertThat(b.media(qs.get(0))).isEqualTo(dir.resolve("videos/v1.mp4"));
        assertThat(b.media(qs.get(1))).isEqualTo(dir.resolve("videos/v2.webm"));
        assertThat(b.media(qs.get(2))).isEqualTo(dir.resolve("videos/clip_dir"));
        assertThat(b.answer(qs.get(1)).get("answer").getAsString()).isEqualTo("y");
        assertThatThrownBy(() -> b.answer(qs.get(2))).hasMessageContaining("test_a.json")
                .hasMessageContaining("no answer for question_id c");
        Benchmark plain = Benchmark.open(dir, null);
        assertThat(plain.token()).isFalse();

        Files.writeString(dir.resolve("test_q.json"), "[{\"video_name\": \"nope\", \"question_id\": \"a\", \"question\": \"q\"}]");
        Benchmark missing = Benchmark.open(dir, null);
        assertThatThrownBy(() -> missing.media(missing.questions().get(0))).hasMessageContaining("test_q.json entry 0")
                .hasMessageContaining("no video 'nope.*'");
        Files.writeString(dir.resolve("test_q.json"), "[{\"video_name\": \"v1\", \"question_id\": \"a\", \"question\": \"q\"},"
                + " {\"video_name\": \"v1\", \"question_id\": \"a\", \"question\": \"q\"}]");
        assertThatThrownBy(() -> Benchmark.open(dir, null)).hasMessageContaining("test_q.json entry 1")
                .hasMessageContaining("appears twice");
        Files.writeString(dir.resolve("test_q.json"), "[{\"video_name\": \"v1\", \"question_id\": \"a\", \"question\": \"q\","
                + " \"time\": [1.0]}]");
        assertThatThrownBy(() -> Benchmark.open(dir, null)).hasMessageContaining("entry 0 (question_id a)")
                .hasMessageContaining("time must be [start, end]");
        Files.writeString(dir.resolve("test_q.json"), "[{\"video_name\": \"v1\", \"question\": \"q\"}]");
        assertThatThrownBy(() -> Benchmark.open(dir, null)).hasMessageContaining("entry 0: no question_id");
    }

    private static List<Benchmark.Question> questions(int n) {
        List<Benchmark.Question> qs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            JsonObject o = PyJson.object("video_name", "v", "question_id", "q" + i, "question", "?");
            qs.add(new Benchmark.Question(i, o, "q" + i, "v", "?", ClipWindow.WHOLE));
        }
        return qs;
    }

    private static String line(String id, String pred) {
        return PyJson.dumps(PyJson.object("question_id", id, "pred", pred));
    }

    @Test
    void chunkFilesResumeWhereTheyStoppedAndTheLastFinisherMerges(@TempDir Path out) throws IOException {
        List<Benchmark.Question> all = questions(5);
        List<String> req = List.of("question_id", "pred");
        ChunkFiles c0 = new ChunkFiles(out, "B_naive", 2, 0, req);
        ChunkFiles c1 = new ChunkFiles(out, "B_naive", 2, 1, req);
        List<Benchmark.Question> chunk0 = all.subList(0, 3);
        List<Benchmark.Question> chunk1 = all.subList(3, 5);
        // chunk 0 crashed after two answers, the second cut mid-line
        Files.write(c0.partial(), List.of(line("q0", "A"), "{\"question_id\": \"q1\", \"pr"), StandardCharsets.UTF_8);
        Map<String, String> kept = c0.previous(chunk0);
        assertThat(kept.keySet()).containsExactly("q0");
        try (ChunkFiles.Appender a = c0.start(kept.values())) {
            a.append(line("q1", "B"));
            a.append(line("q2", "C"));
            a.finish();
        }
        assertThat(c0.partial()).doesNotExist();
        assertThat(Files.readAllLines(c0.done())).hasSize(3);
        assertThat(c0.mergeIfComplete(all, UnaryOperator.identity())).isEmpty();
        assertThat(c0.merge()).doesNotExist();
        // chunk 1 finishes last: merge in question order, done files removed
        try (ChunkFiles.Appender a = c1.start(c1.previous(chunk1).values())) {
            a.append(line("q4", "E"));
            a.append(line("q3", "D"));
            a.finish();
        }
        Optional<List<JsonObject>> merged = c1.mergeIfComplete(all, o -> {
            JsonObject d = o.deepCopy();
            d.addProperty("seen", true);
            return d;
        });
        assertThat(merged).isPresent();
        assertThat(merged.get()).extracting(o -> o.get("question_id").getAsString()).containsExactly("q0", "q1", "q2", "q3",
                "q4");
        assertThat(c0.done()).doesNotExist();
        assertThat(c1.done()).doesNotExist();
        List<String> mergeLines = Files.readAllLines(c1.merge());
        assertThat(mergeLines.get(3)).isEqualTo("{\"question_id\": \"q3\", \"pred\": \"D\", \"seen\": true}");

        // a rerun with another chunk count takes every answer from the merge file and asks nothing
        ChunkFiles c3 = new ChunkFiles(out, "B_naive", 3, 1, req);
        assertThat(c3.previous(all.subList(2, 4)).keySet()).containsExactly("q2", "q3");
        // other strategies' files are not this one's
        ChunkFiles other = new ChunkFiles(out, "B_likelihood", 1, 0, req);
        assertThat(other.previous(all)).isEmpty();
    }

    @Test
    void pythonStyleJsonEqualsJsonDumps() throws IOException {
        JsonObject o = JsonParser.parseString("{\"a\": [1, 2.5], \"s\": \"\u00e9\u2028\u007f\\t\\\"\\\\/\", \"n\": {\"x\": []}}")
                .getAsJsonObject();
        o.getAsJsonArray("a").add(1e-05);
        o.getAsJsonArray("a").add(0.0005);
        o.getAsJsonArray("a").add(1e16);
        o.getAsJsonArray("a").add(123456789.0);
        o.getAsJsonArray("a").add(-0.0);
        o.getAsJsonArray("a").add(true);
        o.getAsJsonArray("a").add(com.google.gson.JsonNull.INSTANCE);
        assertThat(PyJson.dumps(o)).isEqualTo(JudgeTest.resource("pyjson.expected.jsonl"));
        assertThat(PyJson.repr(0.1f)).isEqualTo("0.10000000149011612");
    }

    @Test
    void nextQaBreakdownByQuestionType() {
        Map<String, Boolean> right = new java.util.LinkedHashMap<>();
        right.put("CW_1", true);
        right.put("CW_2", false);
        right.put("CH_1", true);
        right.put("TP_1", true);
        right.put("TN_1", false);
        right.put("DO_5", true);
        NextQa.Breakdown b = NextQa.of(right);
        assertThat(b.groups()).containsEntry("CW", 0.5).containsEntry("CH", 1.0).containsEntry("TN", 0.5)
                .containsEntry("TC", 0.0).containsEntry("DO", 1.0).containsEntry("C", 2 / 3.0).containsEntry("T", 0.5)
                .containsEntry("D", 1.0);
        assertThat(b.counts()).containsEntry("TN", 2).containsEntry("DL", 0);
        assertThat(b.total()).isEqualTo(4 / 6.0);
        assertThat(b.groups().keySet()).containsExactly("CW", "CH", "TN", "TC", "DC", "DL", "DO", "C", "T", "D");
    }

    @Test
    void batchesOverSeveralWorkersReachTheSinkInItemOrder() {
        List<Integer> items = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            items.add(i);
        }
        List<Integer> sunk = new ArrayList<>();
        java.util.Set<String> workersUsed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        Batches.<String, Integer, Integer>run(items, 4, List.of("w0", "w1", "w2"), (w, batch) -> {
            workersUsed.add(w);
            try {
                // later batches finish first on some workers
                Thread.sleep(batch.get(0) % 3 == 0 ? 30 : 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return batch.stream().map(x -> x * 10).toList();
        }, (item, r) -> {
            assertThat(r).isEqualTo(item * 10);
            sunk.add(item);
        });
        assertThat(sunk).isEqualTo(items);
        assertThat(workersUsed).hasSizeGreaterThan(1);

        List<Integer> delivered = new ArrayList<>();
        assertThatThrownBy(() -> Batches.<String, Integer, Integer>run(items, 4, List.of("w0"), (w, batch) -> {
            if (batch.get(0) == 8) {
                throw new IllegalArgumentException("question 8 failed");
            }
            return batch;
        }, (item, r) -> delivered.add(item))).hasMessage("question 8 failed");
        // everything before the failing batch was delivered, nothing after it ran
        assertThat(delivered).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    }
}
