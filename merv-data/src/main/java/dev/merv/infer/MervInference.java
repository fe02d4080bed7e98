package dev.merv.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.build.MervModels;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.Precision;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.nn.Param;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.WeightLoader;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.llm.generate.GenerationResult;
import dev.merv.llm.generate.Generator;
import dev.merv.llm.generate.TextStreamer;
import dev.merv.train.Training;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Running a MERV model from Java: load a trained run (or wrap a model you hold), then {@link #generate}
 * answers about a video or image, streaming the text as it grows, or {@link #chooseOption} among candidate
 * answers by likelihood.
 *
 * <pre>{@code
 * try (MervInference model = MervInference.load(runDir)) {
 *     Answer a = model.generate(video, "What colour is the moving shape?", model.greedy(64), System.out::print);
 * }
 * }</pre>
 *
 * <p>Generation is the reference's (its quick start): the user message rendered as the LLM's inference
 * prompt, tokenised with special tokens, the media's visual tokens spliced after BOS, greedy or sampled
 * decoding with a KV cache. Training rows start their question with {@code <video>\n} (or {@code <image>\n}),
 * so a prompt about media that carries neither placeholder gets one prepended ({@link Options#addPlaceholder}).
 *
 * <p>Threading: one instance answers one request at a time (a model's forward is not re-entrant); use one
 * instance per thread for concurrency. Every tensor of a request lives in a manager closed when it returns.
 */
public final class MervInference implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MervInference.class);

    /**
     * How a run is loaded and prompted.
     *
     * @param precision the dtype the whole model computes in (encoders and LLM)
     * @param weights where the backbones are; null = the run's recorded {@code weights.json}, else the HF cache
     * @param checkpoint a checkpoint directory of the run; null = its latest
     * @param addPlaceholder prepend {@code <video>\n} / {@code <image>\n} to a prompt about media that has no
     *     placeholder, as the training data has
     */
    public record Options(Precision precision, BackboneWeights weights, Path checkpoint, boolean addPlaceholder) {
        public static Options defaults() {
            return new Options(Precision.FP32, null, null, true);
        }

        public Options withWeights(BackboneWeights w) {
            return new Options(precision, w, checkpoint, addPlaceholder);
        }

        public Options withCheckpoint(Path c) {
            return new Options(precision, weights, c, addPlaceholder);
        }

        public Options withPrecision(Precision p) {
            return new Options(p, weights, checkpoint, addPlaceholder);
        }

        public Options withPlaceholder(boolean on) {
            return new Options(precision, weights, checkpoint, on);
        }
    }

    private final Merv merv;
    private final NDManager owned;
    private final Options options;

    private MervInference(Merv merv, NDManager owned, Options options) {
        this.merv = merv;
        this.owned = owned;
        this.options = options;
    }

    /** Loads a run directory written by {@link Training} (its latest checkpoint, its recorded weights). */
    public static MervInference load(Path runDir) {
        return load(runDir, Options.defaults());
    }

    /**
     * Loads a run: its configuration ({@code config.json}), the backbones from their checkpoints, then the
     * run's trained weights (projectors, fusion, LLM) from the checkpoint, strictly: every tensor it holds must
     * be a parameter of the model with the same shape.
     */
    public static MervInference load(Path runDir, Options options) {
        PretrainConfig cfg = readRunConfig(runDir);
        Path ckpt = options.checkpoint() != null ? options.checkpoint() : Checkpoints.latest(runDir);
        Path model = Checkpoints.modelFile(ckpt);
        if (!Files.exists(model)) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " has no " + model.getFileName());
        }
        BackboneWeights weights = options.weights();
        if (weights == null) {
            weights = Training.recordedWeights(runDir);
        }
        if (weights == null) {
            weights = BackboneWeights.hfCache();
        }
        // the first device libtorch itself sees (gpu0 on a GPU machine), not DJL's default device
        NDManager manager = NDManager.newBaseManager(dev.merv.core.train.Devices.parse("auto").get(0));
        try {
            Merv merv = MervModels.build(cfg.model(), weights, options.precision(), MervModels.Purpose.INFERENCE, manager,
                    cfg.seed(), new Merv.Options());
            try (SafeTensors st = SafeTensors.open(model)) {
                Map<String, Param> all = merv.module().namedParameters();
                Map<String, Param> table = new LinkedHashMap<>();
                for (String n : st.names()) {
                    Param p = all.get(n);
                    if (p == null) {
                        throw new IllegalArgumentException(model + ": tensor '" + n + "' is no parameter of "
                                + cfg.model().modelId());
                    }
                    table.put(n, p);
                }
                WeightLoader.load(st, table, manager, options.precision().compute());
            }
            merv.module().setTrainable(false);
            return new MervInference(merv, manager, options);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Wraps a model you hold (not closed by {@link #close}). */
    public static MervInference of(Merv merv) {
        return new MervInference(merv, null, Options.defaults());
    }

    /** The run's configuration: {@code config.json}, written by {@link Training} in the reference's format. */
    public static PretrainConfig readRunConfig(Path runDir) {
        Path f = runDir.resolve("config.json");
        if (!Files.exists(f)) {
            throw new IllegalArgumentException(runDir + " has no config.json (is it a run directory written by merv's"
                    + " training?)");
        }
        return ConfigJson.read(f);
    }

    public Merv model() {
        return merv;
    }

    /** Greedy decoding stopping at the end-of-sequence token, as the reference's evaluation scripts. */
    public GenerationConfig greedy(int maxNewTokens) {
        Tokenizer tok = merv.llm().text().tokenizer();
        return GenerationConfig.greedy(maxNewTokens, Set.of(tok.eosId()), tok.padId());
    }

    /** Greedy, up to 512 new tokens, nothing streamed. */
    public Answer generate(Path media, String userMessage) {
        return generate(media, userMessage, greedy(512), null);
    }

    /**
     * Answers {@code userMessage} about {@code media} (a video, or an image by its extension; null = text
     * only). {@code onText} (may be null) receives each new piece of the answer as it is decoded.
     */
    public Answer generate(Path media, String userMessage, GenerationConfig cfg, Consumer<String> onText) {
        Tokenizer tok = merv.llm().text().tokenizer();
        String prompt = merv.llm().text().inferencePrompt(withPlaceholder(media, userMessage));
        long[] ids = tok.encode(prompt, true);
        try (NDManager m = NDManager.newBaseManager(merv.device()); var ng = Torch.noGrad()) {
            NDArray inputIds = m.create(ids, new Shape(1, ids.length));
            NDArray mask = m.ones(new Shape(1, ids.length), DataType.BOOLEAN);
            long[] lab = new long[ids.length];
            Arrays.fill(lab, MervBatch.IGNORE_INDEX);
            NDArray labels = m.create(lab, new Shape(1, ids.length));
            List<NDArray> pixels = media == null ? List.of() : MediaInputs.pixels(merv, media, m);
            MervBatch batch = new MervBatch(inputIds, mask, labels, pixels, media == null ? new int[0] : new int[] {0},
                    new boolean[] {MediaInputs.isImage(media)}, 0, m.newSubManager());
            SplicedInputs in = merv.splice(batch);
            TextStreamer streamer = new TextStreamer(tok, 0, onText == null ? s -> { } : onText);
            GenerationResult r = Generator.generateFromEmbeddings(merv.llm(), in.embeddings(), in.attentionMask(), cfg,
                    streamer);
            long[] out = r.tokens().get(0);
            boolean stopped = out.length > 0 && cfg.stopTokens().contains(out[out.length - 1]);
            Answer a = new Answer(tok.decode(out, true).strip(), out, stopped ? Answer.Finish.STOP_TOKEN
                    : Answer.Finish.MAX_NEW_TOKENS);
            if (a.text().isEmpty() && stopped && out.length == 1) {
                LOG.warn("the model ended its answer at once (its first token was end-of-sequence); an untrained or"
                        + " barely trained model often does this");
            }
            return a;
        } catch (dev.merv.data.check.SampleException e) {
            throw new IllegalArgumentException("cannot read " + media + ": " + e.getMessage(), e);
        }
    }

    /**
     * The index of the most likely of {@code candidates} as the answer to {@code question} about
     * {@code media}: each candidate is scored by the summed log-probability of its tokens as the assistant's
     * reply, through the data path training uses.
     */
    public int chooseOption(Path media, String question, List<String> candidates) {
        Path root = media == null ? null : media.toAbsolutePath().getParent();
        String rel = media == null ? null : media.getFileName().toString();
        OptionScorer.Question q = new OptionScorer.Question(rel, MediaInputs.isImage(media),
                withPlaceholder(media, question), candidates, 0);
        try {
            Path work = Files.createTempDirectory("merv-options");
            try {
                return OptionScorer.choose(merv, List.of(q), root == null ? work : root, work,
                        merv.config().llmMaxLength())[0];
            } finally {
                try (var s = Files.walk(work)) {
                    s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String withPlaceholder(Path media, String message) {
        if (media == null || !options.addPlaceholder() || message.contains("<video>") || message.contains("<image>")) {
            return message;
        }
        return (MediaInputs.isImage(media) ? "<image>\n" : "<video>\n") + message;
    }

    @Override
    public void close() {
        if (owned != null) {
            owned.close();
        }
    }

    /**
     * One generated answer.
     *
     * @param text the decoded new tokens, special tokens skipped, whitespace stripped
     * @param tokens the new token ids, including the stop token when there was one
     * @param finish why decoding stopped
     */
    public record Answer(String text, long[] tokens, Finish finish) {
        /** Why decoding stopped. */
        public enum Finish { STOP_TOKEN, MAX_NEW_TOKENS }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "\"%s\" (%d tokens, %s)", text, tokens.length, finish);
        }
    }
}
