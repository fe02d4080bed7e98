package dev.merv.infer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.build.MervModels;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.Precision;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.nn.Param;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.WeightLoader;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.check.SampleException;
import dev.merv.data.video.ClipWindow;
import dev.merv.data.video.VideoDecoder;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.llm.generate.GenerationResult;
import dev.merv.llm.generate.Generator;
import dev.merv.llm.generate.TextStreamer;
import dev.merv.llm.generate.TokenListener;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.llm.lora.Lora;
import dev.merv.llm.lora.PeftAdapters;
import dev.merv.train.Training;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Running a MERV model from Java: load a trained run (merv's, or the Python reference's released layout) or wrap a
 * model you hold, then {@link #generate} answers about a video or image, streaming the text as it grows, answers
 * a batch of questions at once ({@link #generate(List, GenerationConfig)}), or {@link #chooseOption} among
 * candidate answers by likelihood.
 *
 * <pre>{@code
 * try (MervInference model = MervInference.load(runDir)) {
 *     Answer a = model.generate(video, "What colour is the moving shape?", model.greedy(64), System.out::print);
 * }
 * }</pre>
 *
 * <p>Generation is the reference's ({@code MERV.generate}): the user message rendered as the LLM's inference
 * prompt, tokenised with special tokens and cut at {@code llm_max_length} (2048) tokens, the media's visual tokens
 * spliced after BOS, greedy or sampled decoding with a KV cache, stopping at the LLM's end-of-sequence ids (its
 * {@code generation_config.json} when the checkpoint has one). By default the model computes in the dtype the
 * reference's inference autocasts to (bf16; fp16 for Qwen2.5, W21 in docs/parity.md), and a question without
 * media gets "zero videos" encoded and spliced as the reference does ({@link NoMedia}). Training rows start their
 * question with {@code <video>\n} (or {@code <image>\n}), so a prompt about media that carries neither placeholder
 * gets one prepended ({@link Options#addPlaceholder}; the reference's evaluation scripts do not, so
 * {@code dev.merv.eval} turns it off).
 *
 * <p>Batches: questions are left-padded and decoded together with one KV cache; each distinct media item (file and
 * window) is decoded and encoded once, and its encoder features are kept for the next batches (a small LRU), so a
 * benchmark's many questions about one video run the encoders once.
 *
 * <p>Threading: one instance answers one request at a time (a model's forward is not re-entrant); use one
 * instance per thread (and per device) for concurrency. Every tensor of a request lives in a manager closed when
 * it returns.
 */
public final class MervInference implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MervInference.class);

    /** Encoder features kept across batches (distinct media items). */
    private static final int FEATURE_CACHE = 32;

    /** What a question without media gets. */
    public enum NoMedia {
        /** The reference: zero inputs through every encoder, their visual tokens spliced as for a video. */
        ZERO_VIDEO,
        /** Text only: no visual tokens at all. */
        TEXT_ONLY
    }

    /**
     * How a run is loaded and prompted.
     *
     * @param precision the dtype the whole model computes in (encoders and LLM); null = the reference's inference
     *     dtype for the run's LLM (bf16; fp16 for Qwen2.5)
     * @param weights where the backbones are; null = the run's recorded {@code weights.json}, else the HF cache
     * @param explicitWeights per backbone id, a checkpoint directory that wins over {@code weights}
     * @param checkpoint a checkpoint of the run (a merv checkpoint directory or a reference {@code .pt}); null = its
     *     latest
     * @param addPlaceholder prepend {@code <video>\n} / {@code <image>\n} to a prompt about media that has no
     *     placeholder, as the training data has
     * @param noMedia what a question without media gets
     * @param encoderOptions per encoder id, the options its architecture is built with (e.g. the input size of a
     *     checkpoint that is not the catalog's)
     * @param tokenizer load the LLM's tokenizer; off only for a run whose LLM has none and that is used for forward
     *     passes (generation needs it)
     * @param device where the model lives; null = the first device libtorch sees (gpu0 on a GPU machine)
     * @param media how media is read (frame folders' rate)
     */
    public record Options(Precision precision, BackboneWeights weights, Map<String, Path> explicitWeights, Path checkpoint,
            boolean addPlaceholder, NoMedia noMedia, Map<String, EncoderRegistry.Options> encoderOptions, boolean tokenizer,
            Device device, MediaInputs.Options media) {

        public Options {
            explicitWeights = Map.copyOf(explicitWeights);
            encoderOptions = Map.copyOf(encoderOptions);
            Objects.requireNonNull(noMedia, "noMedia");
            Objects.requireNonNull(media, "media");
        }

        /** The reference's inference: its precision, zero videos for media-less questions, recorded weights. */
        public static Options defaults() {
            return new Options(null, null, Map.of(), null, true, NoMedia.ZERO_VIDEO, Map.of(), true, null,
                    MediaInputs.Options.defaults());
        }

        public Options withWeights(BackboneWeights w) {
            return new Options(precision, w, explicitWeights, checkpoint, addPlaceholder, noMedia, encoderOptions, tokenizer,
                    device, media);
        }

        /** Backbone {@code id} is read from {@code dir} (the {@code --weights.<id>} flag). */
        public Options withWeight(String id, Path dir) {
            Map<String, Path> m = new LinkedHashMap<>(explicitWeights);
            m.put(id, dir);
            return new Options(precision, weights, m, checkpoint, addPlaceholder, noMedia, encoderOptions, tokenizer, device,
                    media);
        }

        public Options withCheckpoint(Path c) {
            return new Options(precision, weights, explicitWeights, c, addPlaceholder, noMedia, encoderOptions, tokenizer,
                    device, media);
        }

        public Options withPrecision(Precision p) {
            return new Options(p, weights, explicitWeights, checkpoint, addPlaceholder, noMedia, encoderOptions, tokenizer,
                    device, media);
        }

        public Options withPlaceholder(boolean on) {
            return new Options(precision, weights, explicitWeights, checkpoint, on, noMedia, encoderOptions, tokenizer,
                    device, media);
        }

        public Options withNoMedia(NoMedia n) {
            return new Options(precision, weights, explicitWeights, checkpoint, addPlaceholder, n, encoderOptions, tokenizer,
                    device, media);
        }

        /** Encoder {@code id} is built with {@code o} (its frame count still comes from the run's configuration). */
        public Options withEncoderOptions(String id, EncoderRegistry.Options o) {
            Map<String, EncoderRegistry.Options> m = new LinkedHashMap<>(encoderOptions);
            m.put(id, o);
            return new Options(precision, weights, explicitWeights, checkpoint, addPlaceholder, noMedia, m, tokenizer, device,
                    media);
        }

        public Options withTokenizer(boolean on) {
            return new Options(precision, weights, explicitWeights, checkpoint, addPlaceholder, noMedia, encoderOptions, on,
                    device, media);
        }

        public Options withDevice(Device d) {
            return new Options(precision, weights, explicitWeights, checkpoint, addPlaceholder, noMedia, encoderOptions,
                    tokenizer, d, media);
        }

        public Options withMedia(MediaInputs.Options m) {
            return new Options(precision, weights, explicitWeights, checkpoint, addPlaceholder, noMedia, encoderOptions,
                    tokenizer, device, m);
        }
    }

    /**
     * One question of a batch.
     *
     * @param media a video, image or folder of frames; null = none
     * @param message the user message (the prompt before the LLM's template)
     * @param window the part of the video to sample; null = the whole video
     */
    public record Query(Path media, String message, ClipWindow window) {
        public Query {
            Objects.requireNonNull(message, "message");
        }

        public Query(Path media, String message) {
            this(media, message, ClipWindow.WHOLE);
        }
    }

    private final Merv merv;
    private final NDManager owned;
    private final Options options;
    private final Set<Long> stopTokens;
    private final List<EncoderInput> inputs;
    private final VideoDecoder decoder = new VideoDecoder();
    private final FeatureCache cache;
    private long mediaEncoded;

    private MervInference(Merv merv, NDManager owned, Options options, Set<Long> stopTokens) {
        this.merv = merv;
        this.owned = owned;
        this.options = options;
        this.stopTokens = stopTokens;
        this.inputs = MediaInputs.inputs(merv);
        this.cache = new FeatureCache(FEATURE_CACHE);
    }

    /** Loads a run directory (its latest checkpoint, its recorded weights), merv's or the reference's layout. */
    public static MervInference load(Path runDir) {
        return load(runDir, Options.defaults());
    }

    /**
     * Loads a run ({@link RunDirectory}): its configuration, the backbones from their checkpoints, then the run's
     * trained weights ({@link #loadTrainedWeights}). The checkpoint is opened and checked against the configuration
     * before any backbone weight is read. The checkpoint of a merv LoRA run (it holds {@code adapter_config.json})
     * gets the same adapters on the LLM, applied unmerged; {@link #mergeLora} folds them into the LLM's weights.
     */
    public static MervInference load(Path runDir, Options options) {
        RunDirectory run = RunDirectory.open(runDir, options.checkpoint());
        ModelConfig cfg = run.model();
        BackboneWeights weights = options.weights();
        if (weights == null && run.layout() == RunDirectory.Layout.MERV) {
            weights = Training.recordedWeights(runDir);
        }
        if (weights == null) {
            weights = BackboneWeights.hfCache();
        }
        for (Map.Entry<String, Path> e : options.explicitWeights().entrySet()) {
            weights = weights.with(e.getKey(), e.getValue());
        }
        Precision precision = options.precision() != null ? options.precision() : referencePrecision(cfg);
        // a merv LoRA run's checkpoint directory holds the PEFT files beside model.safetensors
        Path ckptDir = run.checkpoint().getParent();
        LoraConfig lora = run.layout() == RunDirectory.Layout.MERV && PeftAdapters.present(ckptDir)
                ? PeftAdapters.readConfig(ckptDir) : null;
        try (RunDirectory.Weights trained = run.openWeights()) {
            Set<String> modules = trained.modules();
            if (run.layout() == RunDirectory.Layout.REFERENCE
                    && !(modules.contains("projectors") && modules.contains("llm_backbone"))) {
                throw new IllegalArgumentException(trained.describe() + " holds " + modules + "; a model loads from a"
                        + " checkpoint with projectors and llm_backbone (an align checkpoint only starts a finetune)");
            }
            // a LoRA run's checkpoint holds only the LLM's adapters: its base weights come from the pretrained LLM
            boolean llmFromCheckpoint = modules.contains("llm_backbone") && lora == null;
            if (!options.tokenizer() && !llmFromCheckpoint) {
                throw new IllegalArgumentException("a model without its tokenizer can only be loaded from a checkpoint that"
                        + " holds the LLM (" + trained.describe() + " holds " + modules + ")");
            }
            // no device given: the first one libtorch itself sees (gpu0 on a GPU machine), not DJL's default device
            NDManager manager = NDManager.newBaseManager(options.device() != null ? options.device()
                    : dev.merv.core.train.Devices.parse("auto").get(0));
            try {
                Merv merv = MervModels.build(cfg, weights, precision, MervModels.Purpose.INFERENCE, manager, run.seed(),
                        new Merv.Options(), new MervModels.BuildOptions(options.encoderOptions(), llmFromCheckpoint,
                                options.tokenizer(), lora));
                loadTrainedWeights(merv, trained, run.layout(), precision, manager);
                merv.module().setTrainable(false);
                Set<Long> stops = stopTokens(merv, MervModels.llmDir(cfg.llmBackboneId(), weights));
                LOG.info("loaded {} run {} ({}, {}), computing in {}", run.layout().name().toLowerCase(Locale.ROOT), runDir,
                        cfg.modelId(), run.checkpoint(), precision);
                return new MervInference(merv, manager, options, stops);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    /**
     * Puts a run's trained weights into a freshly built model. A merv checkpoint's tensors must each be a
     * parameter of the model with its shape; the parameters it does not hold keep what the build gave them (the
     * pretrained LLM of an align run, the fusion's unused value path drawn as training drew it, W8). A reference
     * checkpoint is loaded as the reference's {@code from_pretrained} does: each of {@code projectors},
     * {@code feature_fusion} and {@code llm_backbone} strictly (every parameter, nothing else but the LLM's
     * non-persistent buffers). Either way every parameter outside the encoders holds a value afterwards.
     */
    static void loadTrainedWeights(Merv merv, RunDirectory.Weights trained, RunDirectory.Layout layout,
            Precision precision, NDManager manager) {
        Map<String, Param> all = merv.module().namedParameters();
        Map<String, Param> table = new LinkedHashMap<>();
        if (layout == RunDirectory.Layout.MERV) {
            for (String n : trained.names()) {
                Param p = all.get(n);
                if (p == null) {
                    throw new IllegalArgumentException(trained.describe() + ": tensor '" + n + "' is no parameter of "
                            + merv.config().modelId());
                }
                table.put(n, p);
            }
            WeightLoader.load(trained, table, manager, precision.compute());
        } else {
            if (!merv.parameters("feature_fusion").isEmpty() && !trained.modules().contains("feature_fusion")) {
                throw new IllegalArgumentException(trained.describe() + " holds no feature_fusion (nor adapter), but the"
                        + " model's fusion " + merv.config().featureFusion() + " has parameters");
            }
            for (String module : trained.modules()) {
                merv.parameters(module).forEach((k, p) -> table.put(module + "." + k, p));
            }
            LanguageModel llm = merv.llm();
            String llmPrefix = "llm_backbone.llm.";
            WeightLoader.load(trained, table, manager, precision.compute(), true, n -> n.startsWith(llmPrefix)
                    && llm instanceof LlamaModel lm && lm.ignorable(n.substring(llmPrefix.length())));
        }
        List<String> unset = new ArrayList<>();
        all.forEach((n, p) -> {
            if (!n.startsWith("video_backbones.") && !p.isSet()) {
                unset.add(n);
            }
        });
        if (!unset.isEmpty()) {
            throw new IllegalArgumentException(trained.describe() + " leaves " + unset.size() + " parameter(s) without a"
                    + " value: " + unset.subList(0, Math.min(8, unset.size())) + (unset.size() > 8 ? " ..." : ""));
        }
    }

    /** The reference's inference dtype for {@code cfg}'s LLM: bf16, fp16 for Qwen2.5 (W21). */
    public static Precision referencePrecision(ModelConfig cfg) {
        return Precision.of(LlmRegistry.spec(cfg.llmBackboneId()).inferenceDtype());
    }

    /** The LLM's end-of-sequence ids: its {@code generation_config.json}'s {@code eos_token_id} and the tokenizer's. */
    private static Set<Long> stopTokens(Merv merv, Path llmDir) {
        Set<Long> out = new LinkedHashSet<>();
        if (hasText(merv)) {
            out.add(merv.llm().text().tokenizer().eosId());
        }
        Path f = llmDir.resolve("generation_config.json");
        if (Files.exists(f)) {
            try {
                JsonElement eos = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject()
                        .get("eos_token_id");
                if (eos != null && eos.isJsonArray()) {
                    eos.getAsJsonArray().forEach(x -> out.add(x.getAsLong()));
                } else if (eos != null && eos.isJsonPrimitive()) {
                    out.add(eos.getAsLong());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f, e);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(f + ": cannot read eos_token_id: " + e.getMessage(), e);
            }
        }
        return Set.copyOf(out);
    }

    /** Wraps a model you hold (not closed by {@link #close}); it computes in the dtype it was built in. */
    public static MervInference of(Merv merv) {
        return of(merv, Options.defaults());
    }

    /** Wraps a model you hold with prompt and media options ({@code precision}, weights and device are the model's). */
    public static MervInference of(Merv merv, Options options) {
        Set<Long> stops = hasText(merv) ? Set.of(merv.llm().text().tokenizer().eosId()) : Set.of();
        return new MervInference(merv, null, options, stops);
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

    /** The LoRA adapters on the LLM (a LoRA run's, or {@link #loadAdapter loaded}), or null when it has none. */
    public Lora lora() {
        return merv.llm() instanceof LlamaModel l ? Lora.of(l) : null;
    }

    /**
     * Folds the LLM's LoRA adapters into its weights ({@code W + scaling * B A}, rounded once to the weights' dtype)
     * and takes them off: answers stay the same up to that rounding, and the LLM is a plain decoder again (what an
     * export writes). Returns the number of layers merged (0 without adapters).
     */
    public int mergeLora() {
        return merv.llm() instanceof LlamaModel l ? Lora.merge(l) : 0;
    }

    /**
     * Mounts a PEFT adapter directory ({@code adapter_config.json} + {@code adapter_model.safetensors}, written by merv
     * or by Python's PEFT for this LLM) on the LLM, in the model's precision. Fails if the LLM already has adapters.
     */
    public Lora loadAdapter(Path dir) {
        if (!(merv.llm() instanceof LlamaModel l)) {
            throw new IllegalStateException("LLM '" + merv.llm().id() + "' takes no LoRA adapters");
        }
        if (Lora.of(l) != null) {
            throw new IllegalStateException("the LLM already has LoRA adapters; merge them (mergeLora) before loading " + dir);
        }
        Lora lora = PeftAdapters.load(l, dir, Torch.dtype(l.weightTable().get("model.embed_tokens.weight").get()));
        lora.parameters().values().forEach(p -> p.setTrainable(false));
        return lora;
    }

    public Options options() {
        return options;
    }

    /** Greedy decoding stopping at the end-of-sequence ids, as the reference's evaluation scripts. */
    public GenerationConfig greedy(int maxNewTokens) {
        Tokenizer tok = tokenizer();
        return GenerationConfig.greedy(maxNewTokens, stopTokens, tok.padId());
    }

    /** How many media items (file and window, or the zero video) this instance has decoded and encoded so far. */
    public long mediaEncoded() {
        return mediaEncoded;
    }

    /** The ids decoding stops at. */
    public Set<Long> stopTokens() {
        return stopTokens;
    }

    /** Whether the LLM was loaded with its tokenizer. */
    private static boolean hasText(Merv merv) {
        try {
            return merv.llm().text() != null;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    private Tokenizer tokenizer() {
        if (!hasText(merv)) {
            throw new IllegalStateException(merv.llm().id() + " was loaded without a tokenizer: it cannot generate");
        }
        return merv.llm().text().tokenizer();
    }

    /** Greedy, up to 512 new tokens, nothing streamed. */
    public Answer generate(Path media, String userMessage) {
        return generate(media, userMessage, greedy(512), null);
    }

    /**
     * Answers {@code userMessage} about {@code media} (a video, an image, a folder of frames; null = none).
     * {@code onText} (may be null) receives each new piece of the answer as it is decoded.
     */
    public Answer generate(Path media, String userMessage, GenerationConfig cfg, Consumer<String> onText) {
        return generate(new Query(media, userMessage), cfg, onText);
    }

    /** Answers one question (its media sampled inside its window), streaming the text to {@code onText} (may be null). */
    public Answer generate(Query query, GenerationConfig cfg, Consumer<String> onText) {
        Tokenizer tok = tokenizer();
        TextStreamer streamer = new TextStreamer(tok, 0, onText == null ? s -> { } : onText);
        Answer a = run(List.of(query), cfg, streamer).get(0);
        if (a.text().isEmpty() && a.finish() == Answer.Finish.STOP_TOKEN && a.tokens().length == 1) {
            LOG.warn("the model ended its answer at once (its first token was end-of-sequence); an untrained or"
                    + " barely trained model often does this");
        }
        return a;
    }

    /**
     * Answers a batch of questions together (left-padded, one KV cache), in order. A media item that cannot be read
     * fails the batch naming the file.
     */
    public List<Answer> generate(List<Query> queries, GenerationConfig cfg) {
        return run(queries, cfg, null);
    }

    /** The token ids of {@code query}'s prompt: its message through the LLM's inference template, cut at llm_max_length. */
    public long[] promptIds(Query query) {
        Tokenizer tok = tokenizer();
        String prompt = merv.llm().text().inferencePrompt(withPlaceholder(query.media(), query.message()));
        long[] ids = tok.encode(prompt, true);
        int max = merv.config().llmMaxLength();
        return ids.length > max ? Arrays.copyOf(ids, max) : ids;
    }

    private List<Answer> run(List<Query> queries, GenerationConfig cfg, TokenListener listener) {
        if (queries.isEmpty()) {
            return List.of();
        }
        Tokenizer tok = tokenizer();
        int b = queries.size();
        List<long[]> prompts = new ArrayList<>();
        for (Query q : queries) {
            prompts.add(promptIds(q));
        }
        int t = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        List<Integer> mmRows = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            if (queries.get(r).media() != null || options.noMedia() == NoMedia.ZERO_VIDEO) {
                mmRows.add(r);
            }
        }
        Device device = merv.llm().module().namedParameters().values().iterator().next().get().getDevice();
        try (NDManager m = NDManager.newBaseManager(device); var ng = Torch.noGrad()) {
            // encoder features per multimodal row, each distinct media item encoded once
            List<FeatureCache.Entry> media = new ArrayList<>();
            for (int r : mmRows) {
                media.add(features(queries.get(r)));
            }
            List<NDArray> encoded = new ArrayList<>();
            for (int e = 0; e < inputs.size(); e++) {
                NDList parts = new NDList();
                for (FeatureCache.Entry f : media) {
                    parts.add(f.features().get(e));
                }
                NDArray cat = parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(parts, 0);
                cat.attach(m);
                encoded.add(cat);
            }
            cache.trim();
            long[] ids = new long[b * t];
            boolean[] mask = new boolean[b * t];
            long[] labels = new long[b * t];
            Arrays.fill(ids, tok.padId());
            Arrays.fill(labels, MervBatch.IGNORE_INDEX);
            boolean[] isImage = new boolean[b];
            for (int r = 0; r < b; r++) {
                long[] p = prompts.get(r);
                System.arraycopy(p, 0, ids, r * t, p.length);
                Arrays.fill(mask, r * t, r * t + p.length, true);
                isImage[r] = MediaInputs.isImage(queries.get(r).media());
            }
            MervBatch batch = new MervBatch(m.create(ids, new Shape(b, t)), m.create(mask, new Shape(b, t)),
                    m.create(labels, new Shape(b, t)), List.of(), mmRows.stream().mapToInt(Integer::intValue).toArray(),
                    isImage, 0, m.newSubManager());
            SplicedInputs in = merv.splice(batch, mmRows.isEmpty() ? null : encoded);
            NDArray[] left = leftPadded(in.embeddings(), in.attentionMask(), m);
            GenerationResult res = Generator.generateFromEmbeddings(merv.llm(), left[0], left[1], cfg, listener);
            float[] weights = in.mixingWeights() == null ? null
                    : Torch.toFloatArray(Torch.dtype(in.mixingWeights()) == ScalarType.FLOAT32 ? in.mixingWeights()
                            : Torch.to(in.mixingWeights(), ScalarType.FLOAT32));
            int encodersCount = weights == null || mmRows.isEmpty() ? 0 : weights.length / mmRows.size();
            Answer[] out = new Answer[b];
            int[] order = in.rowOrder();
            for (int fused = 0; fused < b; fused++) {
                int r = order[fused];
                long[] tokens = res.tokens().get(fused);
                boolean stopped = tokens.length > 0 && cfg.stopTokens().contains(tokens[tokens.length - 1]);
                int mmPos = mmRows.indexOf(r);
                float[] w = mmPos < 0 || weights == null ? null
                        : Arrays.copyOfRange(weights, mmPos * encodersCount, (mmPos + 1) * encodersCount);
                int[][] frames = mmPos < 0 ? new int[0][] : media.get(mmPos).frameIndices();
                out[r] = new Answer(tok.decode(tokens, true).strip(), tokens,
                        stopped ? Answer.Finish.STOP_TOKEN : Answer.Finish.MAX_NEW_TOKENS, w, frames);
            }
            batch.close();
            return List.of(out);
        }
    }

    /**
     * Right-padded spliced rows ({@code [B, L, D]}, mask true on each row's leading real positions) moved to the left
     * padding generation expects: row {@code r}'s {@code n_r} real positions end at the last column.
     */
    private static NDArray[] leftPadded(NDArray emb, NDArray mask, NDManager m) {
        int b = (int) emb.getShape().get(0);
        int l = (int) emb.getShape().get(1);
        long d = emb.getShape().get(2);
        long[] maskHost;
        try (NDArray asLong = mask.toType(DataType.INT64, true)) {
            maskHost = asLong.toLongArray();
        }
        long[] leftMask = new long[b * l];
        NDList rows = new NDList();
        for (int r = 0; r < b; r++) {
            int n = 0;
            for (int i = 0; i < l; i++) {
                n += maskHost[r * l + i] != 0 ? 1 : 0;
            }
            Arrays.fill(leftMask, r * l + (l - n), (r + 1) * l, 1L);
            NDArray real = emb.get(new NDIndex(r + ", 0:" + n + ", :"));
            if (n == l) {
                rows.add(real);
            } else {
                NDArray pad;
                try (NDArray z = m.zeros(new Shape(l - n, d))) {
                    pad = Torch.to(z, Torch.dtype(emb));
                    if (pad == z) {
                        pad = z.duplicate();
                    }
                }
                rows.add(pad.concat(real, 0));
            }
        }
        NDArray stacked = NDArrays.stack(rows, 0);
        stacked.attach(m);
        return new NDArray[] {stacked, m.create(leftMask, new Shape(b, l))};
    }

    /** The encoder features (one row per encoder) and frame numbers of {@code q}'s media, from the cache or computed. */
    private FeatureCache.Entry features(Query q) {
        ClipWindow window = q.window() == null ? ClipWindow.WHOLE : q.window();
        String key = q.media() == null ? "<zero video>" : q.media().toAbsolutePath().normalize() + "|" + window;
        FeatureCache.Entry hit = cache.get(key);
        if (hit != null) {
            return hit;
        }
        mediaEncoded++;
        MediaInputs.Clip clip;
        try {
            clip = q.media() == null ? MediaInputs.zeros(inputs)
                    : MediaInputs.read(inputs, q.media(), window, decoder, options.media());
        } catch (SampleException e) {
            throw new IllegalArgumentException("cannot read " + q.media() + ": " + e.getMessage(), e);
        }
        NDManager store = cache.manager(merv);
        NDManager entry = store.newSubManager();
        try (NDManager scratch = store.newSubManager()) {
            List<NDArray> px = MediaInputs.tensors(inputs, List.of(clip), scratch);
            List<NDArray> features = merv.encode(px);
            for (NDArray f : features) {
                f.attach(entry);
            }
            return cache.put(key, new FeatureCache.Entry(features, clip.frameIndices(), entry));
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
                dev.merv.core.io.FileTrees.delete(work);
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
        cache.close();
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
     * @param mixingWeights the fusion's per-encoder weights for this question (the reference's {@code mixer_value});
     *     null when the fusion has none or the question had no visual tokens
     * @param frameIndices per encoder, the frame numbers of the media it saw (empty for images and no media)
     */
    public record Answer(String text, long[] tokens, Finish finish, float[] mixingWeights, int[][] frameIndices) {
        /** Why decoding stopped. */
        public enum Finish { STOP_TOKEN, MAX_NEW_TOKENS }

        public Answer(String text, long[] tokens, Finish finish) {
            this(text, tokens, finish, null, new int[0][]);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "\"%s\" (%d tokens, %s)", text, tokens.length, finish);
        }
    }

    /** Encoder features of recently seen media items, least recently used dropped first. */
    private static final class FeatureCache implements AutoCloseable {
        record Entry(List<NDArray> features, int[][] frameIndices, NDManager manager) {}

        private final int capacity;
        private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
        private NDManager manager;

        FeatureCache(int capacity) {
            this.capacity = capacity;
        }

        NDManager manager(Merv merv) {
            if (manager == null) {
                Device d = merv.llm().module().namedParameters().values().iterator().next().get().getDevice();
                manager = NDManager.newBaseManager(d);
            }
            return manager;
        }

        Entry get(String key) {
            return entries.get(key);
        }

        /** Adds an entry; nothing is dropped until {@link #trim} (a batch may still use every entry it looked up). */
        Entry put(String key, Entry e) {
            entries.put(key, e);
            return e;
        }

        /** Drops the least recently used entries beyond the capacity. */
        void trim() {
            while (entries.size() > capacity) {
                String eldest = entries.keySet().iterator().next();
                entries.remove(eldest).manager().close();
            }
        }

        @Override
        public void close() {
            entries.values().forEach(e -> e.manager().close());
            entries.clear();
            if (manager != null) {
                manager.close();
                manager = null;
            }
        }
    }
}
