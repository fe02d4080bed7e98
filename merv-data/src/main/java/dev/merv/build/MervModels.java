package dev.merv.build;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.HubRef;
import dev.merv.core.catalog.ResizeStrategy;
import dev.merv.core.catalog.LlmFamily;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.llm.lora.Lora;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one code path that turns a validated {@link ModelConfig} into a {@link Merv}: each encoder from
 * its checkpoint directory (architecture from its {@code config.json} where the family has one, frozen,
 * held in the compute dtype), the LLM with the reference's tokenizer set-up (pad token, embedding resize),
 * then fresh projectors and fusion seeded as the reference seeds them. {@link MervBuilder}, training and
 * inference all build through here.
 */
public final class MervModels {

    private static final Logger LOG = LoggerFactory.getLogger(MervModels.class);

    /**
     * What the model is for: training keeps the LLM in fp32 (its trainable weights are the masters), unless it
     * trains LoRA adapters only.
     */
    public enum Purpose { TRAINING, INFERENCE }

    private MervModels() {}

    /**
     * Checks that every backbone's weights can be found, without reading any tensor; fails naming the
     * backbone and every place looked.
     */
    public static void checkWeights(ModelConfig cfg, BackboneWeights weights) {
        for (String id : cfg.videoBackboneIds()) {
            encoderDir(id, weights);
        }
        tokenizerDir(cfg.llmBackboneId(), weights);
    }

    /** Where encoder {@code id}'s checkpoint is. */
    public static Path encoderDir(String id, BackboneWeights weights) {
        return weights.resolve(id, hubRepo(EncoderRegistry.get(id).hub()));
    }

    /** Where LLM {@code id}'s checkpoint is. */
    public static Path llmDir(String id, BackboneWeights weights) {
        return weights.resolve(id, hubRepo(LlmRegistry.spec(id).hub()));
    }

    /** The LLM's tokenizer: the files beside its weights, or the revision its catalog entry pins. */
    public static Path tokenizerDir(String id, BackboneWeights weights) {
        return LlmRegistry.tokenizerDir(id, null, llmDir(id, weights));
    }

    /** The checkpoint's repo id, or null for a backbone that only exists locally (merv-tiny's). */
    private static String hubRepo(HubRef hub) {
        return hub == null ? null : hub.repo();
    }

    /**
     * What a build takes beyond the configuration and where the weights are.
     *
     * @param encoderOptions per backbone id, the options its architecture is built with (e.g. the input size of
     *     a checkpoint that is not the catalog's size); the frame count always comes from the configuration
     * @param llmFromCheckpoint build the LLM empty (architecture from its directory's {@code config.json}, else
     *     the catalog) because a checkpoint will fill every LLM weight; its pretrained weights are never read
     * @param tokenizer load the LLM's tokenizer and prompt pipeline (off: forward passes only, for a model whose
     *     directory has no tokenizer; only with {@code llmFromCheckpoint})
     * @param lora LoRA adapters on the LLM (null = none): fresh, as PEFT initialises them
     */
    public record BuildOptions(Map<String, EncoderRegistry.Options> encoderOptions, boolean llmFromCheckpoint,
            boolean tokenizer, LoraConfig lora) {
        public static final BuildOptions DEFAULT = new BuildOptions(Map.of(), false, true, null);

        public BuildOptions(Map<String, EncoderRegistry.Options> encoderOptions, boolean llmFromCheckpoint,
                boolean tokenizer) {
            this(encoderOptions, llmFromCheckpoint, tokenizer, null);
        }

        /** These options with LoRA adapters (null = none) on the LLM. */
        public BuildOptions withLora(LoraConfig l) {
            return new BuildOptions(encoderOptions, llmFromCheckpoint, tokenizer, l);
        }

        public BuildOptions {
            encoderOptions = Map.copyOf(encoderOptions);
            if (!tokenizer && !llmFromCheckpoint) {
                throw new IllegalArgumentException("an LLM loaded from its pretrained checkpoint always loads its tokenizer");
            }
        }
    }

    /**
     * Builds the model. Encoders are held in {@code precision}'s dtype; the LLM in fp32 for training and in
     * {@code precision}'s dtype for inference.
     *
     * @param manager owns every weight
     * @param seed seeds the LLM's resized embedding rows (the projector/fusion stream is seeded as the reference does)
     */
    public static Merv build(ModelConfig cfg, BackboneWeights weights, Precision precision, Purpose purpose,
            NDManager manager, long seed, Merv.Options options) {
        return build(cfg, weights, precision, purpose, manager, seed, options, BuildOptions.DEFAULT);
    }

    /**
     * As {@link #build(ModelConfig, BackboneWeights, Precision, Purpose, NDManager, long, Merv.Options)}, with LoRA
     * adapters on the LLM when {@code lora} is not null: fresh ones as PEFT initialises them (seeded by {@code seed};
     * the model computes what it computed without them), and the LLM's own weights held in {@code precision}'s dtype
     * even for training (they stay frozen: {@code Merv.applyStage} trains only the adapters).
     */
    public static Merv build(ModelConfig cfg, BackboneWeights weights, Precision precision, Purpose purpose,
            NDManager manager, long seed, Merv.Options options, LoraConfig lora) {
        return build(cfg, weights, precision, purpose, manager, seed, options, BuildOptions.DEFAULT.withLora(lora));
    }

    /** {@link #build(ModelConfig, BackboneWeights, Precision, Purpose, NDManager, long, Merv.Options)} with build options. */
    public static Merv build(ModelConfig cfg, BackboneWeights weights, Precision precision, Purpose purpose,
            NDManager manager, long seed, Merv.Options options, BuildOptions build) {
        LoraConfig lora = build.lora();
        checkWeights(cfg, weights);
        List<VideoEncoder> encoders = new ArrayList<>();
        ScalarType encDtype = precision.compute();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            String id = cfg.videoBackboneIds().get(i);
            Path dir = encoderDir(id, weights);
            EncoderRegistry.Options o = encoderOptions(cfg, i, build);
            long t0 = System.nanoTime();
            FrozenVideoEncoder enc = EncoderRegistry.load(id, o, dir.toString(), null, manager, encDtype);
            LOG.info("encoder {} ({}): {} frames -> {} x {} tokens of width {}, {} parameters, {}, loaded from {} in {} ms",
                    i, id, enc.numFrames(), enc.temporalResolution(), enc.spatialResolution(), enc.embedDim(),
                    enc.module().parameterCount(), encDtype, dir, (System.nanoTime() - t0) / 1_000_000);
            encoders.add(enc);
        }
        String llmId = cfg.llmBackboneId();
        Path llmDir = llmDir(llmId, weights);
        ScalarType llmDtype = purpose == Purpose.TRAINING && lora == null ? ScalarType.FLOAT32 : precision.compute();
        long t0 = System.nanoTime();
        LlamaModel llm;
        if (build.llmFromCheckpoint()) {
            llm = emptyLlm(llmId, llmDir, build.tokenizer() ? tokenizerDir(llmId, weights) : null, manager);
            LOG.info("llm {}: width {}, {} layers, {} embedding rows, built empty from {} (its weights come from the"
                    + " checkpoint)", llmId, llm.embedDim(), llm.numLayers(), llm.vocabSize(), llmDir);
        } else {
            llm = LlmRegistry.fromPretrained(llmId, llmDir, tokenizerDir(llmId, weights), llmDtype, manager,
                    LlmRegistry.Options.PARITY, seed);
            LOG.info("llm {}: width {}, {} layers, {} embedding rows, {}, loaded from {} in {} ms", llmId, llm.embedDim(),
                    llm.numLayers(), llm.vocabSize(), llmDtype, llmDir, (System.nanoTime() - t0) / 1_000_000);
        }
        if (lora != null) {
            Lora adapters = Lora.apply(llm, lora);
            adapters.initialize(seed, llm.manager());
            if (purpose == Purpose.INFERENCE && llmDtype != ScalarType.FLOAT32) {
                adapters.castTo(llmDtype, llm.manager());
            }
            adapters.training(purpose == Purpose.TRAINING);
            LOG.info("llm {}: {} on {} layers, {} adapter parameters", llmId, lora, adapters.modulePaths().size(),
                    adapters.parameterCount());
        }
        Merv.Options o = options == null ? new Merv.Options() : options;
        if (!build.tokenizer()) {
            // the reference keeps BOS before the visual tokens when the tokenizer has one: every family but Qwen2
            o.bosTokenLength(LlmRegistry.spec(llmId).family() == LlmFamily.QWEN2 ? 0 : 1);
        }
        return new Merv(cfg, encoders, llm, manager, o);
    }

    /**
     * An LLM with no weights yet, shaped as its checkpoint directory's {@code config.json} says (the catalog's
     * values when the directory has none), its embedding rows resized as the reference does for its tokenizer;
     * {@code tokenizerDir} null = no tokenizer (the rows are the config's).
     */
    public static LlamaModel emptyLlm(String id, Path llmDir, Path tokenizerDir, NDManager manager) {
        boolean hasConfig = llmDir != null && Files.exists(llmDir.resolve("config.json"));
        if (!hasConfig && !LlmRegistry.spec(id).hasConfig()) {
            throw new IllegalArgumentException("LLM '" + id + "': the catalog holds no architecture for it and "
                    + (llmDir == null ? "no directory is given" : llmDir + " has no config.json"));
        }
        LlamaConfig lc = hasConfig ? LlmRegistry.config(id, ModelDirectory.readConfig(llmDir),
                llmDir.resolve("config.json").toString()) : LlmRegistry.preset(id).config();
        if (tokenizerDir == null) {
            return new LlamaModel(id, lc, manager);
        }
        ReferenceTextPipeline text = LlmRegistry.text(id, tokenizerDir, LlmRegistry.Options.PARITY);
        int rows = LlmRegistry.spec(id).embeddingRows(lc.vocabSize(), text.tokenizer().vocabSize());
        return new LlamaModel(id, lc.withVocabSize(rows), manager).withText(text);
    }

    /**
     * Encoders built from their configs without reading any weights: what the data path needs of each
     * (frames, transform), in the model's order.
     */
    public static List<FrozenVideoEncoder> encoderShapes(ModelConfig cfg, BackboneWeights weights) {
        List<FrozenVideoEncoder> out = new ArrayList<>();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            String id = cfg.videoBackboneIds().get(i);
            Path dir = encoderDir(id, weights);
            JsonObject json = Files.exists(dir.resolve("config.json")) ? ModelDirectory.readConfig(dir) : null;
            out.add(EncoderRegistry.create(id, json, encoderOptions(cfg, i)));
        }
        return out;
    }

    /**
     * How encoder {@code i} of {@code cfg} is built by default (its frame count and the config's
     * {@code image_resize_strategy}; the registry's defaults otherwise).
     */
    public static EncoderRegistry.Options encoderOptions(ModelConfig cfg, int i) {
        return encoderOptions(cfg, i, BuildOptions.DEFAULT);
    }

    /**
     * How encoder {@code i} of {@code cfg} is built with {@code build}'s per-encoder options, the config's frame count
     * and its {@code image_resize_strategy}.
     */
    public static EncoderRegistry.Options encoderOptions(ModelConfig cfg, int i, BuildOptions build) {
        return build.encoderOptions().getOrDefault(cfg.videoBackboneIds().get(i), EncoderRegistry.Options.defaults())
                .withFrames(cfg.numFrames().get(i)).withResize(ResizeStrategy.parse(cfg.imageResizeStrategy()));
    }

    /**
     * Only the encoders of {@code cfg}, from their checkpoints, frozen, held in {@code precision}'s dtype on
     * {@code manager}'s device (what a feature cache build runs; no LLM is read).
     */
    public static List<FrozenVideoEncoder> encoders(ModelConfig cfg, BackboneWeights weights, Precision precision,
            NDManager manager) {
        List<FrozenVideoEncoder> out = new ArrayList<>();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            String id = cfg.videoBackboneIds().get(i);
            out.add(EncoderRegistry.load(id, encoderOptions(cfg, i), encoderDir(id, weights).toString(), null, manager,
                    precision.compute()));
        }
        return out;
    }
}
