package dev.merv.llm.llama;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.List;
import java.util.Locale;

/**
 * Hyper-parameters of the shared Llama-style decoder (Llama 2, Vicuna v1.5, Llama 3 / 3.1, and Qwen2.5,
 * which differs only by q/k/v biases). Field meanings follow HF's {@code LlamaConfig}/{@code Qwen2Config}.
 *
 * @param modelType {@code llama} or {@code qwen2}
 * @param qkvBias biases on q/k/v projections (Qwen2 always; Llama when {@code attention_bias})
 * @param outputBias bias on {@code o_proj} (Llama when {@code attention_bias}; never in Qwen2)
 * @param ropeScaling null for plain RoPE
 * @param bosTokenId -1 when the config has none (Qwen2.5)
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
        int maxPositionEmbeddings, boolean qkvBias, boolean outputBias, boolean mlpBias, boolean tieWordEmbeddings,
        long bosTokenId, long eosTokenId) {

    public LlamaConfig {
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(numLayers > 0, "num_hidden_layers", numLayers);
        require(numHeads > 0, "num_attention_heads", numHeads);
        require(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads (must divide num_attention_heads "
                + numHeads + ")", numKvHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (even)", headDim);
        require(rmsNormEps > 0, "rms_norm_eps", rmsNormEps);
        require(ropeTheta > 0, "rope_theta", ropeTheta);
        if (ropeScaling != null && !"llama3".equals(ropeScaling.ropeType())) {
            throw new IllegalArgumentException("rope_scaling.rope_type '" + ropeScaling.ropeType()
                    + "' is not implemented (supported: default, llama3)");
        }
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + field + ": " + value);
        }
    }

    /** Whether keys/values have fewer heads than queries (grouped-query attention). */
    public boolean gqa() {
        return numKvHeads != numHeads;
    }

    public LlamaConfig withVocabSize(int rows) {
        return new LlamaConfig(modelType, rows, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, qkvBias, outputBias, mlpBias,
                tieWordEmbeddings, bosTokenId, eosTokenId);
    }

    // ------------------------------------------------------------------------ config.json

    /**
     * This config as an HF {@code config.json} ({@code LlamaForCausalLM} or {@code Qwen2ForCausalLM}), the
     * keys {@link #fromLlamaJson} and the Qwen2 parser read back to an equal config.
     */
    public JsonObject toHfJson() {
        JsonObject o = new JsonObject();
        com.google.gson.JsonArray arch = new com.google.gson.JsonArray();
        arch.add("qwen2".equals(modelType) ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        o.add("architectures", arch);
        o.addProperty("model_type", modelType);
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("num_hidden_layers", numLayers);
        o.addProperty("num_attention_heads", numHeads);
        o.addProperty("num_key_value_heads", numKvHeads);
        o.addProperty("head_dim", headDim);
        o.addProperty("hidden_act", "silu");
        o.addProperty("rms_norm_eps", rmsNormEps);
        o.addProperty("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            JsonObject rs = new JsonObject();
            rs.addProperty("rope_type", ropeScaling.ropeType());
            rs.addProperty("factor", ropeScaling.factor());
            rs.addProperty("low_freq_factor", ropeScaling.lowFreqFactor());
            rs.addProperty("high_freq_factor", ropeScaling.highFreqFactor());
            rs.addProperty("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            o.add("rope_scaling", rs);
        }
        o.addProperty("max_position_embeddings", maxPositionEmbeddings);
        if (!"qwen2".equals(modelType)) {
            o.addProperty("attention_bias", qkvBias);
            o.addProperty("mlp_bias", mlpBias);
        }
        o.addProperty("tie_word_embeddings", tieWordEmbeddings);
        if (bosTokenId >= 0) {
            o.addProperty("bos_token_id", bosTokenId);
        }
        o.addProperty("eos_token_id", eosTokenId);
        o.addProperty("initializer_range", 0.02);
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    /**
     * Parses a Llama {@code config.json}. Everything the decoder would compute differently from what is
     * implemented fails here, naming the field: {@code hidden_act} other than silu, an unknown
     * {@code rope_scaling.rope_type}, non-zero {@code attention_dropout}, a {@code model_type} other than llama.
     */
    public static LlamaConfig fromLlamaJson(JsonObject c, String source) {
        String type = str(c, "model_type", "llama", source);
        if (!"llama".equals(type)) {
            throw fieldError(source, "model_type", "'" + type + "' is not a Llama config (expected 'llama')");
        }
        boolean attnBias = bool(c, "attention_bias", false, source);
        return common(c, source, type, attnBias, attnBias, bool(c, "mlp_bias", false, source), 10000.0);
    }

    /**
     * Shared parse of the fields Llama and Qwen2 configs have in common; the caller decides the biases.
     * Public so that {@code dev.merv.llm.qwen2} (the only other family) can reuse it.
     */
    public static LlamaConfig common(JsonObject c, String source, String type, boolean qkvBias, boolean outputBias,
            boolean mlpBias, double defaultTheta) {
        String act = str(c, "hidden_act", "silu", source);
        if (!"silu".equals(act)) {
            throw fieldError(source, "hidden_act", "'" + act + "' is not implemented (only silu)");
        }
        double dropout = num(c, "attention_dropout", 0.0, source);
        if (dropout != 0.0) {
            throw fieldError(source, "attention_dropout", dropout + " is not implemented (only 0.0)");
        }
        int hidden = integer(c, "hidden_size", -1, source);
        int heads = integer(c, "num_attention_heads", -1, source);
        int kv = integer(c, "num_key_value_heads", heads, source);
        int headDim = integer(c, "head_dim", heads > 0 ? hidden / heads : -1, source);
        if (hidden % heads != 0 && !c.has("head_dim")) {
            throw fieldError(source, "hidden_size", hidden + " is not a multiple of num_attention_heads " + heads);
        }
        RopeScaling scaling = parseRopeScaling(c, source);
        return new LlamaConfig(type, integer(c, "vocab_size", -1, source), hidden,
                integer(c, "intermediate_size", -1, source), integer(c, "num_hidden_layers", -1, source), heads, kv,
                headDim, num(c, "rms_norm_eps", 1e-6, source), num(c, "rope_theta", defaultTheta, source), scaling,
                integer(c, "max_position_embeddings", 2048, source), qkvBias, outputBias, mlpBias,
                bool(c, "tie_word_embeddings", false, source), tokenId(c, "bos_token_id", source),
                tokenId(c, "eos_token_id", source));
    }

    static RopeScaling parseRopeScaling(JsonObject c, String source) {
        JsonElement e = c.get("rope_scaling");
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonObject()) {
            throw fieldError(source, "rope_scaling", "must be an object or null, got " + e);
        }
        JsonObject s = e.getAsJsonObject();
        String ropeType = s.has("rope_type") ? s.get("rope_type").getAsString()
                : s.has("type") ? s.get("type").getAsString() : null;
        if (ropeType == null) {
            throw fieldError(source, "rope_scaling.rope_type", "missing");
        }
        ropeType = ropeType.toLowerCase(Locale.ROOT);
        if ("default".equals(ropeType)) {
            return null;
        }
        if (!"llama3".equals(ropeType)) {
            throw fieldError(source, "rope_scaling.rope_type", "'" + ropeType
                    + "' is not implemented (supported: default, llama3)");
        }
        for (String k : List.of("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")) {
            if (!s.has(k) || s.get(k).isJsonNull()) {
                throw fieldError(source, "rope_scaling." + k, "missing for rope_type llama3");
            }
        }
        return new RopeScaling("llama3", s.get("factor").getAsDouble(), s.get("low_freq_factor").getAsDouble(),
                s.get("high_freq_factor").getAsDouble(), s.get("original_max_position_embeddings").getAsInt());
    }

    public static IllegalArgumentException fieldError(String source, String field, String what) {
        return new IllegalArgumentException(source + ": field '" + field + "' " + what);
    }

    private static long tokenId(JsonObject c, String key, String source) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            return -1;
        }
        if (e.isJsonArray()) {
            // Llama 3.1 Instruct lists several EOS ids; the first is the generation config's primary one
            return e.getAsJsonArray().size() == 0 ? -1 : e.getAsJsonArray().get(0).getAsLong();
        }
        try {
            return e.getAsLong();
        } catch (RuntimeException ex) {
            throw fieldError(source, key, "is not an integer: " + e);
        }
    }

    static String str(JsonObject c, String key, String dflt, String source) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            return dflt;
        }
        return e.getAsString();
    }

    public static boolean bool(JsonObject c, String key, boolean dflt, String source) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            return dflt;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw fieldError(source, key, "is not a boolean: " + e);
        }
        return e.getAsBoolean();
    }

    static double num(JsonObject c, String key, double dflt, String source) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            return dflt;
        }
        try {
            return e.getAsDouble();
        } catch (RuntimeException ex) {
            throw fieldError(source, key, "is not a number: " + e);
        }
    }

    static int integer(JsonObject c, String key, int dflt, String source) {
        JsonElement e = c.get(key);
        if (e == null || e.isJsonNull()) {
            if (dflt == -1) {
                throw fieldError(source, key, "is missing");
            }
            return dflt;
        }
        try {
            return e.getAsInt();
        } catch (RuntimeException ex) {
            throw fieldError(source, key, "is not an integer: " + e);
        }
    }
}
