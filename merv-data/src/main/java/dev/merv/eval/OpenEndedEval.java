package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.data.video.ClipWindow;
import dev.merv.infer.MervInference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Open-ended evaluation as the reference's {@code eval_openended.py} runs it (MSVD-QA, MSRVTT-QA, TGIF-QA,
 * ActivityNet-QA): the prompt's message is the question, with {@code \n<video>} <em>appended</em> for benchmarks named
 * {@code *_token*} (the opposite end from the MCQ script and the training data, W3); greedy generation of up to 512
 * tokens, each video sampled whole (the script passes no clip bounds). The answers are then judged offline
 * ({@link Judge}).
 *
 * <p>Chunks, resume and the last-finisher merge are {@link ChunkFiles}'; the result file
 * {@code <out>/<eval_dataset>_pred_merge.jsonl} holds per question its {@code test_q.json} fields, {@code pred},
 * {@code message} (the message sent), {@code mixer_value} (the fusion's per-encoder weights, when the fusion has
 * them), its {@code test_a.json} fields, and merv's {@code frame_indices}. As in the reference, a question whose media
 * cannot be read is logged and left out, so the benchmark does not merge until it is fixed and the chunk rerun.
 */
public final class OpenEndedEval {

    private static final Logger LOG = LoggerFactory.getLogger(OpenEndedEval.class);

    /**
     * @param numChunks the reference's {@code --num_chunks}
     * @param chunkIdx the reference's {@code --chunk_idx}
     * @param batchSize questions answered together per device
     * @param maxNewTokens generation length (the reference's 512)
     */
    public record Options(int numChunks, int chunkIdx, int batchSize, int maxNewTokens) {
        public Options {
            Benchmark.chunk(0, numChunks, chunkIdx);
            if (batchSize < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("batch size and max new tokens must be positive");
            }
        }

        public static Options defaults() {
            return new Options(1, 0, 8, 512);
        }

        public Options withChunk(int n, int k) {
            return new Options(n, k, batchSize, maxNewTokens);
        }

        public Options withBatchSize(int b) {
            return new Options(numChunks, chunkIdx, b, maxNewTokens);
        }

        public Options withMaxNewTokens(int t) {
            return new Options(numChunks, chunkIdx, batchSize, t);
        }
    }

    /**
     * @param answered questions answered by this run
     * @param failed question ids whose media could not be read (left out)
     * @param merge the merge file, when the benchmark is complete
     */
    public record Result(Path out, int chunkQuestions, int answered, List<String> failed, Optional<Path> merge) {}

    private OpenEndedEval() {}

    /** The reference's message: the question, {@code \n<video>} appended for {@code _token} benchmarks. */
    public static String message(String question, boolean videoToken) {
        return question + (videoToken ? "\n<video>" : "");
    }

    private record Item(Benchmark.Question q, JsonObject answer, String message, Path media) {}

    /** Runs chunk {@code options.chunkIdx()} of {@code benchmark} into {@code out}; merges when it is the last. */
    public static Result run(Benchmark benchmark, Path out, Options options, Models models) {
        List<Benchmark.Question> chunk = benchmark.chunk(options.numChunks(), options.chunkIdx());
        List<Item> items = new ArrayList<>();
        for (Benchmark.Question q : chunk) {
            items.add(new Item(q, benchmark.answer(q), message(q.question(), benchmark.token()), benchmark.media(q)));
        }
        ChunkFiles files = new ChunkFiles(out, benchmark.name(), options.numChunks(), options.chunkIdx(),
                List.of("question_id", "pred"));
        Map<String, String> previous = files.previous(chunk);
        List<Item> todo = items.stream().filter(i -> !previous.containsKey(i.q().id())).toList();
        List<String> failed = new ArrayList<>();
        try (ChunkFiles.Appender app = files.start(previous.values())) {
            if (!todo.isEmpty()) {
                List<MervInference> ms = models.get();
                long t0 = System.nanoTime();
                Batches.<MervInference, Item, JsonObject>run(todo, options.batchSize(), ms,
                        (m, batch) -> answer(m, batch, options), (item, line) -> {
                            if (line == null) {
                                failed.add(item.q().id());
                            } else {
                                app.append(PyJson.dumps(line));
                            }
                        });
                double s = (System.nanoTime() - t0) / 1e9;
                LOG.info("{}: {} questions in {} s ({} questions/s)", benchmark.name(), todo.size(),
                        String.format(Locale.ROOT, "%.1f", s), String.format(Locale.ROOT, "%.2f", todo.size() / s));
            }
            app.finish();
        }
        if (!failed.isEmpty()) {
            LOG.error("{}: {} question(s) left out because their media could not be read: {}", benchmark.name(),
                    failed.size(), failed);
        }
        Optional<List<JsonObject>> merged = files.mergeIfComplete(benchmark.questions(), UnaryOperator.identity());
        return new Result(out, chunk.size(), todo.size() - failed.size(), List.copyOf(failed),
                merged.isPresent() || java.nio.file.Files.exists(files.merge()) ? Optional.of(files.merge())
                        : Optional.empty());
    }

    /** The batch's result lines; a question whose media fails is retried alone and, failing again, gets null. */
    private static List<JsonObject> answer(MervInference model, List<Item> batch, Options o) {
        List<MervInference.Query> qs = new ArrayList<>();
        for (Item i : batch) {
            // the reference's open-ended script samples the whole video (it passes no clip bounds)
            qs.add(new MervInference.Query(i.media(), i.message(), ClipWindow.WHOLE));
        }
        List<MervInference.Answer> answers;
        try {
            answers = model.generate(qs, model.greedy(o.maxNewTokens()));
        } catch (IllegalArgumentException e) {
            if (batch.size() == 1) {
                LOG.error("question_id {}: {}", batch.get(0).q().id(), e.getMessage());
                List<JsonObject> none = new ArrayList<>();
                none.add(null);
                return none;
            }
            List<JsonObject> out = new ArrayList<>();
            for (Item i : batch) {
                out.addAll(answer(model, List.of(i), o));
            }
            return out;
        }
        List<JsonObject> out = new ArrayList<>();
        for (int k = 0; k < batch.size(); k++) {
            Item i = batch.get(k);
            MervInference.Answer a = answers.get(k);
            JsonObject line = i.q().fields().deepCopy();
            line.addProperty("pred", a.text());
            line.addProperty("message", i.message());
            if (a.mixingWeights() != null) {
                JsonArray w = new JsonArray();
                for (float f : a.mixingWeights()) {
                    w.add((double) f);
                }
                line.add("mixer_value", w);
            }
            for (Map.Entry<String, JsonElement> e : i.answer().entrySet()) {
                line.add(e.getKey(), e.getValue().deepCopy());
            }
            line.add("frame_indices", McqEval.frameIndices(a.frameIndices()));
            out.add(Objects.requireNonNull(line));
        }
        return out;
    }
}
