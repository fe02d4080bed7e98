package dev.merv.eval;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.model.Merv;
import dev.merv.infer.OptionScorer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Multiple-choice evaluation on the reference's format (merv-reference.md §8.2): {@code test_q.json}
 * ({@code video_name}, {@code question_id}, {@code question}, {@code options}) and {@code test_a.json}
 * ({@code question_id}, {@code answer_id}), videos under {@code videos/}. The prompt is the reference's
 * naive strategy; instead of generating and reading the first character, each option letter is scored by
 * its likelihood as the answer and the most likely letter is the prediction. Benchmarks whose name ends
 * in {@code _token} get the {@code <video>\n} prefix, as the reference's MCQ script does (W3).
 */
public final class McqEval {

    /** Accuracy and the per-question predictions. */
    public record Result(int correct, int total, List<JsonObject> predictions) {
        public double accuracy() {
            return total == 0 ? 0 : correct / (double) total;
        }
    }

    private McqEval() {}

    public static String prompt(String question, List<String> options, boolean videoToken) {
        StringBuilder letters = new StringBuilder();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < options.size(); i++) {
            char l = (char) ('A' + i);
            letters.append(i == 0 ? "" : ", ").append(l);
            lines.append(i == 0 ? "    " : "\n").append(l).append(". ").append(options.get(i));
        }
        String q = (videoToken ? "<video>\n" : "") + question;
        return q + " Select the correct answer from the following options. Write your answer as only one of {"
                + letters + "} and nothing else.\n\n" + lines;
    }

    public static Result run(Merv merv, Path benchmark, Path workDir) throws IOException {
        JsonArray qs = JsonParser.parseString(Files.readString(benchmark.resolve("test_q.json"))).getAsJsonArray();
        JsonArray as = JsonParser.parseString(Files.readString(benchmark.resolve("test_a.json"))).getAsJsonArray();
        Map<String, Integer> answers = new HashMap<>();
        for (JsonElement e : as) {
            JsonObject o = e.getAsJsonObject();
            answers.put(o.get("question_id").getAsString(), o.get("answer_id").getAsInt());
        }
        boolean token = benchmark.getFileName().toString().endsWith("_token");
        List<OptionScorer.Question> questions = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < qs.size(); i++) {
            JsonObject o = qs.get(i).getAsJsonObject();
            String qid = o.get("question_id").getAsString();
            List<String> options = new ArrayList<>();
            o.getAsJsonArray("options").forEach(x -> options.add(x.getAsString()));
            if (options.size() > 5) {
                throw new IllegalArgumentException(benchmark.resolve("test_q.json") + " entry " + i + " (" + qid
                        + "): at most 5 options, got " + options.size());
            }
            Integer answer = answers.get(qid);
            if (answer == null) {
                throw new IllegalArgumentException(benchmark.resolve("test_a.json") + ": no answer for question_id " + qid);
            }
            List<String> letters = new ArrayList<>();
            for (int k = 0; k < options.size(); k++) {
                letters.add(String.valueOf((char) ('A' + k)));
            }
            String video = findVideo(benchmark, o.get("video_name").getAsString());
            questions.add(new OptionScorer.Question(video, false, prompt(o.get("question").getAsString(), options, token),
                    letters, answer));
            ids.add(qid);
        }
        int[] chosen = OptionScorer.choose(merv, questions, benchmark, workDir, merv.config().llmMaxLength());
        int ok = 0;
        List<JsonObject> preds = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            boolean right = chosen[i] == questions.get(i).answer();
            ok += right ? 1 : 0;
            JsonObject p = new JsonObject();
            p.addProperty("question_id", ids.get(i));
            p.addProperty("pred", String.valueOf((char) ('A' + chosen[i])));
            p.addProperty("answer", String.valueOf((char) ('A' + questions.get(i).answer())));
            p.addProperty("correct", right);
            preds.add(p);
        }
        Result r = new Result(ok, questions.size(), preds);
        JsonObject out = new JsonObject();
        out.addProperty("accuracy", r.accuracy());
        out.addProperty("correct", ok);
        out.addProperty("total", questions.size());
        JsonArray arr = new JsonArray();
        preds.forEach(arr::add);
        out.add("predictions", arr);
        Files.createDirectories(workDir);
        Files.writeString(workDir.resolve("mcq_results.json"), new GsonBuilder().setPrettyPrinting().create().toJson(out),
                StandardCharsets.UTF_8);
        return r;
    }

    /** {@code videos/<name>.*} or a frame directory is not supported: the first file whose stem is {@code name}. */
    static String findVideo(Path benchmark, String name) throws IOException {
        Path dir = benchmark.resolve("videos");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String f = p.getFileName().toString();
                int dot = f.lastIndexOf('.');
                return (dot > 0 ? f.substring(0, dot) : f).equals(name);
            }).findFirst().map(p -> "videos/" + p.getFileName()).orElseThrow(() -> new IllegalArgumentException(
                    "no video '" + name + ".*' in " + dir));
        }
    }
}
