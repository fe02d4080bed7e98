package dev.merv.llm.qwen2;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.LlmEntry;
import dev.merv.core.catalog.LlmFamily;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.nio.file.Path;
import java.util.List;

/**
 * Qwen2.5 on the shared Llama decoder. What differs from Llama: q/k/v projections always have biases and
 * {@code o_proj} never does, RoPE theta 1e6, RMSNorm eps 1e-6, no BOS token, tied embeddings on the
 * small sizes, and a sliding-window option that merv does not implement (a config that switches it on
 * fails when parsed, naming {@code use_sliding_window}).
 */
public final class Qwen2 {

    private Qwen2() {}

    /** A builder with Qwen2's fixed differences set (q/k/v bias, theta 1e6, eps 1e-6, no BOS). */
    public static Llama.Builder builder() {
        return Llama.builder().modelType("qwen2").qkvBias(true).outputBias(false).ropeTheta(1_000_000)
                .rmsNormEps(1e-6).bosTokenId(-1).eosTokenId(151645).maxPositionEmbeddings(32768);
    }

    /** A builder holding the {@code config.json} values of the catalog's Qwen2.5 entry {@code id}. */
    public static Llama.Builder preset(String id) {
        LlmEntry e = Catalog.llm(id);
        if (e.family() != LlmFamily.QWEN2 || !e.hasConfig()) {
            throw new IllegalArgumentException("'" + id + "' is not a Qwen2 preset; Qwen2 presets: " + presets());
        }
        return Llama.builder(config(e.config(), "catalog entry " + id));
    }

    /** The catalog's Qwen2-family ids that carry config values. */
    public static List<String> presets() {
        return Catalog.llms().stream().filter(e -> e.family() == LlmFamily.QWEN2 && e.hasConfig()).map(LlmEntry::id).toList();
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
