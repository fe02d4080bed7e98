package dev.merv.llm.qwen2;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Qwen2.5 on the shared Llama decoder. What differs from Llama: q/k/v projections always have biases and
 * {@code o_proj} never does, RoPE theta 1e6, RMSNorm eps 1e-6, no BOS token, tied embeddings on the
 * small sizes, and a sliding-window option that merv does not implement (a config that switches it on
 * fails when parsed, naming {@code use_sliding_window}).
 */
public final class Qwen2 {

    private Qwen2() {}

    public static final Map<String, String> PRESET_REPOS;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("qwen2.5-0.5b-instruct", "Qwen/Qwen2.5-0.5B-Instruct");
        m.put("qwen2.5-1.5b-instruct", "Qwen/Qwen2.5-1.5B-Instruct");
        m.put("qwen2.5-3b-instruct", "Qwen/Qwen2.5-3B-Instruct");
        m.put("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct");
        PRESET_REPOS = java.util.Collections.unmodifiableMap(m);
    }

    /** A builder with Qwen2's fixed differences set (q/k/v bias, theta 1e6, eps 1e-6, no BOS). */
    public static Llama.Builder builder() {
        return Llama.builder().modelType("qwen2").qkvBias(true).outputBias(false).ropeTheta(1_000_000)
                .rmsNormEps(1e-6).bosTokenId(-1).eosTokenId(151645).maxPositionEmbeddings(32768);
    }

    /** The released Instruct checkpoints' {@code config.json} values. */
    public static Llama.Builder preset(String id) {
        switch (id) {
            case "qwen2.5-0.5b-instruct":
                return builder().vocabSize(151936).hiddenSize(896).intermediateSize(4864).numLayers(24).numHeads(14)
                        .numKvHeads(2).tieWordEmbeddings(true);
            case "qwen2.5-1.5b-instruct":
                return builder().vocabSize(151936).hiddenSize(1536).intermediateSize(8960).numLayers(28).numHeads(12)
                        .numKvHeads(2).tieWordEmbeddings(true);
            case "qwen2.5-3b-instruct":
                return builder().vocabSize(151936).hiddenSize(2048).intermediateSize(11008).numLayers(36).numHeads(16)
                        .numKvHeads(2).tieWordEmbeddings(true);
            case "qwen2.5-7b-instruct":
                return builder().vocabSize(152064).hiddenSize(3584).intermediateSize(18944).numLayers(28).numHeads(28)
                        .numKvHeads(4).tieWordEmbeddings(false);
            default:
                throw new IllegalArgumentException("unknown Qwen2 preset '" + id + "'; known: " + PRESET_REPOS.keySet());
        }
    }

    /** Parses a Qwen2 {@code config.json}; sliding-window attention or an unknown RoPE type fail here. */
    public static LlamaConfig config(JsonObject c, String source) {
        JsonElement type = c.get("model_type");
        if (type == null || !"qwen2".equals(type.getAsString())) {
            throw LlamaConfig.fieldError(source, "model_type", (type == null ? "missing" : "'" + type.getAsString() + "'")
                    + " (expected 'qwen2')");
        }
        if (LlamaConfig.bool(c, "use_sliding_window", false, source)) {
            throw LlamaConfig.fieldError(source, "use_sliding_window",
                    "is true: sliding-window attention is not implemented (Qwen2.5 releases ship it off)");
        }
        return LlamaConfig.common(c, source, "qwen2", true, false, false, 10000.0);
    }

    public static LlamaModel fromPretrained(String id, Path dir, ScalarType dtype, NDManager parent) {
        LlamaConfig cfg = config(ModelDirectory.readConfig(dir), dir.resolve("config.json").toString());
        return Llama.load(id, cfg, dir, dtype, parent);
    }
}
