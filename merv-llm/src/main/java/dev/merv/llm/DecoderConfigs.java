package dev.merv.llm;

import com.google.gson.JsonObject;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.qwen2.Qwen2;

/** Picks the family parser by {@code model_type} of an HF {@code config.json}. */
public final class DecoderConfigs {

    private DecoderConfigs() {}

    public static LlamaConfig parse(JsonObject json, String source) {
        String type = json.has("model_type") ? json.get("model_type").getAsString() : null;
        if ("llama".equals(type)) {
            return Llama.config(json, source);
        }
        if ("qwen2".equals(type)) {
            return Qwen2.config(json, source);
        }
        throw LlamaConfig.fieldError(source, "model_type", (type == null ? "missing" : "'" + type + "'")
                + " is not an implemented LLM family (llama, qwen2)");
    }
}
