package dev.merv.examples.build;

import ai.djl.ndarray.NDManager;
import dev.merv.core.catalog.HubRef;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.torch.ScalarType;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.llama.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link Merv} from a validated {@link ModelConfig}: each encoder from its checkpoint directory
 * (architecture from its {@code config.json} where the family has one, frozen, in the encoder dtype),
 * the LLM with the reference's tokenizer set-up (pad token, embedding resize), then fresh projectors and
 * fusion seeded as the reference seeds them.
 */
public final class ModelFactory {

    private static final Logger LOG = LoggerFactory.getLogger(ModelFactory.class);

    private ModelFactory() {}

    /** Precisions: frozen encoders and the LLM's stored weights. */
    public record Precision(ScalarType encoders, ScalarType llm) {
        public static final Precision FP32 = new Precision(ScalarType.FLOAT32, ScalarType.FLOAT32);
    }

    public static Merv build(ModelConfig cfg, BackboneWeights weights, Precision precision, NDManager manager, long seed,
            Merv.Options options) {
        List<VideoEncoder> encoders = new ArrayList<>();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            String id = cfg.videoBackboneIds().get(i);
            HubRef hub = EncoderRegistry.get(id).hub();
            Path dir = weights.resolve(id, hub == null ? null : hub.repo());
            EncoderRegistry.Options o = EncoderRegistry.Options.defaults().withFrames(cfg.numFrames().get(i));
            long t0 = System.nanoTime();
            FrozenVideoEncoder enc = EncoderRegistry.load(id, o, dir.toString(), null, manager, precision.encoders());
            LOG.info("encoder {} ({}): {} frames -> {} x {} tokens of width {}, {} parameters, loaded from {} in {} ms", i, id,
                    enc.numFrames(), enc.temporalResolution(), enc.spatialResolution(), enc.embedDim(),
                    enc.module().parameterCount(), dir, (System.nanoTime() - t0) / 1_000_000);
            encoders.add(enc);
        }
        String llmId = cfg.llmBackboneId();
        HubRef llmHub = LlmRegistry.spec(llmId).hub();
        Path llmDir = weights.resolve(llmId, llmHub == null ? null : llmHub.repo());
        long t0 = System.nanoTime();
        // tokenizer: the files beside the weights, or the revision the catalog entry pins
        LlamaModel llm = LlmRegistry.fromPretrained(llmId, llmDir, null, precision.llm(), manager, LlmRegistry.Options.PARITY,
                seed);
        LOG.info("llm {}: width {}, {} layers, {} embedding rows, loaded from {} in {} ms", llmId, llm.embedDim(),
                llm.numLayers(), llm.vocabSize(), llmDir, (System.nanoTime() - t0) / 1_000_000);
        return new Merv(cfg, encoders, llm, manager, options == null ? new Merv.Options() : options);
    }
}
