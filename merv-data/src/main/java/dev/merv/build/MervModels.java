package dev.merv.build;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.HubRef;
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
import dev.merv.llm.llama.LlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    /** What the model is for: training keeps the LLM in fp32 (its trainable weights are the masters). */
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
     * Builds the model. Encoders are held in {@code precision}'s dtype; the LLM in fp32 for training and in
     * {@code precision}'s dtype for inference.
     *
     * @param manager owns every weight
     * @param seed seeds the LLM's resized embedding rows (the projector/fusion stream is seeded as the reference does)
     */
    public static Merv build(ModelConfig cfg, BackboneWeights weights, Precision precision, Purpose purpose,
            NDManager manager, long seed, Merv.Options options) {
        checkWeights(cfg, weights);
        List<VideoEncoder> encoders = new ArrayList<>();
        ScalarType encDtype = precision.compute();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            String id = cfg.videoBackboneIds().get(i);
            Path dir = encoderDir(id, weights);
            EncoderRegistry.Options o = encoderOptions(cfg, i);
            long t0 = System.nanoTime();
            FrozenVideoEncoder enc = EncoderRegistry.load(id, o, dir.toString(), null, manager, encDtype);
            LOG.info("encoder {} ({}): {} frames -> {} x {} tokens of width {}, {} parameters, {}, loaded from {} in {} ms",
                    i, id, enc.numFrames(), enc.temporalResolution(), enc.spatialResolution(), enc.embedDim(),
                    enc.module().parameterCount(), encDtype, dir, (System.nanoTime() - t0) / 1_000_000);
            encoders.add(enc);
        }
        String llmId = cfg.llmBackboneId();
        Path llmDir = llmDir(llmId, weights);
        ScalarType llmDtype = purpose == Purpose.TRAINING ? ScalarType.FLOAT32 : precision.compute();
        long t0 = System.nanoTime();
        LlamaModel llm = LlmRegistry.fromPretrained(llmId, llmDir, tokenizerDir(llmId, weights), llmDtype, manager,
                LlmRegistry.Options.PARITY, seed);
        LOG.info("llm {}: width {}, {} layers, {} embedding rows, {}, loaded from {} in {} ms", llmId, llm.embedDim(),
                llm.numLayers(), llm.vocabSize(), llmDtype, llmDir, (System.nanoTime() - t0) / 1_000_000);
        return new Merv(cfg, encoders, llm, manager, options == null ? new Merv.Options() : options);
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

    /** How encoder {@code i} of {@code cfg} is built (its frame count; the registry's defaults otherwise). */
    public static EncoderRegistry.Options encoderOptions(ModelConfig cfg, int i) {
        return EncoderRegistry.Options.defaults().withFrames(cfg.numFrames().get(i));
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
