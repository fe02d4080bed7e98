package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.merv.data.check.SampleException;
import dev.merv.data.video.ClipWindow;
import dev.merv.data.video.VideoDecoder;
import dev.merv.infer.MediaInputs;
import dev.merv.infer.MervInference;
import dev.merv.infer.OptionScorer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Multiple-choice evaluation as the reference's {@code eval_mcq.py} runs it, on a {@link Benchmark} in its layout.
 *
 * <p>Each question becomes the reference's "naive" prompt ({@link #prompt}; benchmarks named {@code *_token*} prefix
 * {@code <video>\n}, W3), the only human turn of the LLM's inference template. By default ({@link Protocol#GENERATE})
 * the model answers greedily (up to 512 new tokens, stopping at end-of-sequence) and a question counts as right when
 * the first character of the lower-cased answer equals the answer letter ({@link #correct}): "B" and "b) ..." are
 * right, "The answer is B" is wrong, exactly as in the paper's numbers. {@link Protocol#LIKELIHOOD} instead scores
 * each option letter by its likelihood as the reply and predicts the most likely one.
 *
 * <p>Each question's video is sampled inside its {@code time: [start, end]} window and up to its {@code end_frame}
 * ({@link ClipWindow}; {@link Options#endFrame} can ignore {@code end_frame}, which the reference's MCQ script never
 * passes to its loader). The work splits into the reference's contiguous chunks ({@link Benchmark#chunk}); each chunk
 * resumes from its partial file and the last one to finish merges ({@link ChunkFiles}). Files, under {@code out}:
 *
 * <ul>
 *   <li>{@code <eval_dataset>_<strategy>_pred_merge.jsonl}: per question its {@code test_q.json} fields,
 *       {@code pred} (the generated text), its {@code test_a.json} fields ({@code answer_id}, {@code answer}),
 *       {@code question_text} (the prompt's message), {@code answer_char}, merv's {@code frame_indices} (per encoder,
 *       the frame numbers it saw) and {@code acc} (the first-character rule);
 *   <li>{@code <eval_dataset>_<strategy>_gpt.json}: {@code {question_id: [{"pred": "yes"|"no", "score": 0}, line]}}
 *       as the reference writes it for its tooling;
 *   <li>{@code <eval_dataset>_<strategy>_accuracy.json} (merv's): counts, accuracy and, for NExT-QA, the per-type
 *       breakdown ({@link NextQa}).
 * </ul>
 *
 * The strategy is {@code naive} for the reference's protocol and {@code likelihood} for the other one, so the two
 * never share files.
 */
public final class McqEval {

    private static final Logger LOG = LoggerFactory.getLogger(McqEval.class);

    /** The reference's option letters. */
    private static final String LETTERS = "ABCDE";

    /** How a prediction is made. */
    public enum Protocol {
        /** The reference's: generate, first character of the answer. */
        GENERATE("naive"),
        /** Each option letter scored by likelihood as the reply. */
        LIKELIHOOD("likelihood");

        private final String strategy;

        Protocol(String strategy) {
            this.strategy = strategy;
        }

        /** The strategy name in the result files. */
        public String strategy() {
            return strategy;
        }
    }

    /** Whether a question's {@code end_frame} limits its frames. */
    public enum EndFrame {
        /** Sample {@code linspace(0, min(N-1, end_frame), K)} as the reference's loader does when given it. */
        HONOUR,
        /** Sample the whole video (or the {@code time} window): the reference's MCQ script never passes end_frame on. */
        IGNORE
    }

    /**
     * @param numChunks the reference's {@code --num_chunks}
     * @param chunkIdx the reference's {@code --chunk_idx}
     * @param batchSize questions answered together per device
     * @param maxNewTokens generation length (the reference's 512)
     */
    public record Options(Protocol protocol, int numChunks, int chunkIdx, int batchSize, int maxNewTokens, EndFrame endFrame) {
        public Options {
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(endFrame, "endFrame");
            Benchmark.chunk(0, numChunks, chunkIdx);
            if (batchSize < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("batch size and max new tokens must be positive");
            }
        }

        /** The reference's protocol, one chunk, batches of 8, 512 new tokens, end_frame honoured. */
        public static Options defaults() {
            return new Options(Protocol.GENERATE, 1, 0, 8, 512, EndFrame.HONOUR);
        }

        public Options withProtocol(Protocol p) {
            return new Options(p, numChunks, chunkIdx, batchSize, maxNewTokens, endFrame);
        }

        public Options withChunk(int n, int k) {
            return new Options(protocol, n, k, batchSize, maxNewTokens, endFrame);
        }

        public Options withBatchSize(int b) {
            return new Options(protocol, numChunks, chunkIdx, b, maxNewTokens, endFrame);
        }

        public Options withMaxNewTokens(int t) {
            return new Options(protocol, numChunks, chunkIdx, batchSize, t, endFrame);
        }

        public Options withEndFrame(EndFrame e) {
            return new Options(protocol, numChunks, chunkIdx, batchSize, maxNewTokens, e);
        }
    }

    /**
     * What a run did.
     *
     * @param chunkQuestions questions in this chunk
     * @param answered questions answered by this run (the others were resumed)
     * @param scores the benchmark's scores, when the merge file exists
     */
    public record Result(Path out, int chunkQuestions, int answered, Optional<Scores> scores) {}

    /**
     * Scores of a merged benchmark.
     *
     * @param yes questions right by the first-character rule
     * @param no the others
     * @param nextQa the per-type breakdown when the benchmark is NExT-QA
     */
    public record Scores(int yes, int no, Path merge, Path gpt, Path accuracyFile, NextQa.Breakdown nextQa) {
        public double accuracy() {
            return yes + no == 0 ? 0 : yes / (double) (yes + no);
        }
    }

    private McqEval() {}

    /**
     * The reference's naive prompt: the question, the instruction naming the first {@code numOption} letters, a blank
     * line, four spaces, then the options one per line as {@code A. ...}.
     */
    public static String prompt(String question, List<String> options, int numOption, boolean videoToken) {
        if (options.size() > LETTERS.length() || numOption > LETTERS.length()) {
            throw new IllegalArgumentException("at most " + LETTERS.length() + " options, got " + Math.max(options.size(),
                    numOption));
        }
        StringBuilder letters = new StringBuilder();
        for (int i = 0; i < numOption; i++) {
            letters.append(i == 0 ? "" : ", ").append(LETTERS.charAt(i));
        }
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < options.size(); i++) {
            lines.append(i == 0 ? "    " : "\n").append(LETTERS.charAt(i)).append(". ").append(options.get(i));
        }
        String q = (videoToken ? "<video>\n" : "") + question;
        return q + " Select the correct answer from the following options. Write your answer as only one of {"
                + letters + "} and nothing else.\n\n" + lines;
    }

    /** {@link #prompt(String, List, int, boolean)} with {@code num_option} = the number of options. */
    public static String prompt(String question, List<String> options, boolean videoToken) {
        return prompt(question, options, options.size(), videoToken);
    }

    /** The reference's rule: {@code pred.lower()[:1] == answer_char.lower()}. */
    public static boolean correct(String pred, String answerChar) {
        String p = pred.toLowerCase(Locale.ROOT);
        String first = p.isEmpty() ? "" : new String(Character.toChars(p.codePointAt(0)));
        return first.equals(answerChar.toLowerCase(Locale.ROOT));
    }

    /** One question made ready: its prompt message, answer letter, media and window. */
    private record Item(Benchmark.Question q, JsonObject answer, String questionText, String answerChar, int numOption,
            Path media, ClipWindow window) {}

    /**
     * Runs chunk {@code options.chunkIdx()} of {@code benchmark} into {@code out}, then scores the benchmark when its
     * merge file exists. Every question of the chunk is checked (options, answer, media) before the model loads.
     */
    public static Result run(Benchmark benchmark, Path out, Options options, Models models) {
        List<Benchmark.Question> chunk = benchmark.chunk(options.numChunks(), options.chunkIdx());
        List<Item> items = new ArrayList<>();
        boolean allNumOption = true;
        for (Benchmark.Question q : benchmark.questions()) {
            allNumOption &= q.fields().has("num_option");
        }
        for (Benchmark.Question q : chunk) {
            items.add(item(benchmark, q, options));
        }
        List<String> required = new ArrayList<>(List.of("video_name", "question_id", "question", "pred", "answer_id",
                "answer", "question_text", "answer_char"));
        if (allNumOption) {
            required.add(1, "num_option");
        }
        String stem = benchmark.name() + "_" + options.protocol().strategy();
        ChunkFiles files = new ChunkFiles(out, stem, options.numChunks(), options.chunkIdx(), required);
        Map<String, String> previous = files.previous(chunk);
        List<Item> todo = items.stream().filter(i -> !previous.containsKey(i.q().id())).toList();
        try (ChunkFiles.Appender app = files.start(previous.values())) {
            if (!todo.isEmpty()) {
                List<MervInference> ms = models.get();
                long t0 = System.nanoTime();
                Batches.<MervInference, Item, JsonObject>run(todo, options.protocol() == Protocol.LIKELIHOOD ? 1
                        : options.batchSize(), ms, (m, batch) -> answer(m, batch, options), (item, line) ->
                                app.append(PyJson.dumps(line)));
                double s = (System.nanoTime() - t0) / 1e9;
                LOG.info("{}: {} questions in {} s ({} questions/s)", stem, todo.size(), String.format(Locale.ROOT, "%.1f", s),
                        String.format(Locale.ROOT, "%.2f", todo.size() / s));
            }
            app.finish();
        }
        Optional<List<JsonObject>> merged = files.mergeIfComplete(benchmark.questions(), McqEval::withAcc);
        if (merged.isEmpty()) {
            merged = files.merged();
        }
        return new Result(out, chunk.size(), todo.size(), merged.map(m -> score(benchmark, files, stem, out, m)));
    }

    private static Item item(Benchmark b, Benchmark.Question q, Options o) {
        JsonObject fields = q.fields();
        String where = b.questionsFile() + " entry " + q.index() + " (question_id " + q.id() + ")";
        JsonElement opts = fields.get("options");
        if (opts == null || !opts.isJsonArray()) {
            throw new IllegalArgumentException(where + ": no options list");
        }
        List<String> options = new ArrayList<>();
        opts.getAsJsonArray().forEach(x -> options.add(x.getAsString()));
        int numOption = fields.has("num_option") ? fields.get("num_option").getAsInt() : options.size();
        if (options.size() > LETTERS.length() || numOption > LETTERS.length()) {
            throw new IllegalArgumentException(where + ": at most " + LETTERS.length() + " options, got "
                    + Math.max(options.size(), numOption));
        }
        JsonObject answer = b.answer(q);
        JsonElement id = answer.get("answer_id");
        if (id == null || !id.isJsonPrimitive()) {
            throw new IllegalArgumentException(b.answersFile() + ": question_id " + q.id() + " has no answer_id");
        }
        int answerId = id.getAsInt();
        if (answerId < 0 || answerId >= LETTERS.length()) {
            throw new IllegalArgumentException(b.answersFile() + ": question_id " + q.id() + " has answer_id " + answerId
                    + ", not one of the letters " + LETTERS);
        }
        String text = prompt(q.question(), options, numOption, b.token());
        ClipWindow w = o.endFrame() == EndFrame.IGNORE ? q.window().withoutEndFrame() : q.window();
        return new Item(q, answer, text, String.valueOf(LETTERS.charAt(answerId)), numOption, b.media(q), w);
    }

    private static List<JsonObject> answer(MervInference model, List<Item> batch, Options o) {
        List<JsonObject> out = new ArrayList<>();
        if (o.protocol() == Protocol.GENERATE) {
            List<MervInference.Query> qs = new ArrayList<>();
            for (Item i : batch) {
                qs.add(new MervInference.Query(i.media(), i.questionText(), i.window()));
            }
            List<MervInference.Answer> answers;
            try {
                answers = model.generate(qs, model.greedy(o.maxNewTokens()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where(batch) + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < batch.size(); i++) {
                out.add(line(batch.get(i), answers.get(i).text(), answers.get(i).frameIndices()));
            }
            return out;
        }
        for (Item i : batch) {
            MediaInputs.Clip clip;
            try {
                clip = MediaInputs.read(MediaInputs.inputs(model.model()), i.media(), i.window(), new VideoDecoder(),
                        model.options().media());
                List<String> letters = new ArrayList<>();
                for (int k = 0; k < i.numOption(); k++) {
                    letters.add(String.valueOf(LETTERS.charAt(k)));
                }
                float[] ll = OptionScorer.scores(model.model(), i.questionText(), letters, clip,
                        model.model().config().llmMaxLength());
                int best = 0;
                for (int k = 1; k < ll.length; k++) {
                    if (ll[k] > ll[best]) {
                        best = k;
                    }
                }
                out.add(line(i, letters.get(best), clip.frameIndices()));
            } catch (SampleException e) {
                throw new IllegalArgumentException("question_id " + i.q().id() + ": cannot read " + i.media() + ": "
                        + e.getMessage(), e);
            }
        }
        return out;
    }

    private static String where(List<Item> batch) {
        List<String> ids = batch.stream().map(i -> i.q().id()).toList();
        return "question_id " + (ids.size() == 1 ? ids.get(0) : "in " + ids);
    }

    /** The reference's result line: question fields, pred, answer fields, question_text, answer_char (+ frame_indices). */
    private static JsonObject line(Item i, String pred, int[][] frames) {
        JsonObject o = i.q().fields().deepCopy();
        o.addProperty("pred", pred);
        for (Map.Entry<String, JsonElement> e : i.answer().entrySet()) {
            o.add(e.getKey(), e.getValue().deepCopy());
        }
        o.addProperty("question_text", i.questionText());
        o.addProperty("answer_char", i.answerChar());
        o.add("frame_indices", frameIndices(frames));
        return o;
    }

    static JsonArray frameIndices(int[][] frames) {
        JsonArray a = new JsonArray();
        for (int[] f : frames) {
            JsonArray e = new JsonArray();
            for (int x : f) {
                e.add(x);
            }
            a.add(e);
        }
        return a;
    }

    private static JsonObject withAcc(JsonObject line) {
        JsonObject o = line.deepCopy();
        o.addProperty("acc", correct(o.get("pred").getAsString(), o.get("answer_char").getAsString()));
        return o;
    }

    private static Scores score(Benchmark b, ChunkFiles files, String stem, Path out, List<JsonObject> merged) {
        JsonObject gpt = new JsonObject();
        Map<String, Boolean> right = new LinkedHashMap<>();
        int yes = 0;
        for (JsonObject line : merged) {
            JsonObject sample = withAcc(line);
            boolean acc = sample.get("acc").getAsBoolean();
            yes += acc ? 1 : 0;
            JsonArray pair = new JsonArray();
            pair.add(PyJson.object("pred", acc ? "yes" : "no", "score", 0));
            pair.add(sample);
            String id = sample.get("question_id").getAsString();
            gpt.add(id, pair);
            right.put(id, acc);
        }
        int no = merged.size() - yes;
        Path gptFile = out.resolve(stem + "_gpt.json");
        ChunkFiles.writeAtomically(gptFile, List.of(PyJson.dumps(gpt)));
        NextQa.Breakdown nq = b.dataName().contains("NExT-QA") ? NextQa.of(right) : null;
        JsonObject acc = PyJson.object("eval_dataset", b.name(), "strategy", stem.substring(b.name().length() + 1),
                "yes", yes, "no", no, "accuracy", merged.isEmpty() ? 0.0 : yes / (double) merged.size());
        if (nq != null) {
            JsonObject groups = new JsonObject();
            nq.groups().forEach((k, v) -> groups.add(k, new JsonPrimitive(v)));
            acc.add("nextqa", groups);
            acc.addProperty("nextqa_total", nq.total());
            if (!nq.unknown().isEmpty()) {
                LOG.warn("NExT-QA breakdown: {} question id(s) with no NExT-QA type prefix, e.g. {}", nq.unknown().size(),
                        nq.unknown().get(0));
            }
        }
        Path accFile = out.resolve(stem + "_accuracy.json");
        ChunkFiles.writeAtomically(accFile, List.of(PyJson.dumps(acc)));
        return new Scores(yes, no, files.merge(), gptFile, accFile, nq);
    }
}
