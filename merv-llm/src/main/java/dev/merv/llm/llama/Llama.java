package dev.merv.llm.llama;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Llama-family entry points: a builder with presets whose values are the released checkpoints'
 * {@code config.json}, parsing of HF configs, and {@link #fromPretrained} for HF directories (single or
 * sharded safetensors).
 *
 * <pre>{@code
 * LlamaModel m = Llama.builder().hiddenSize(64).intermediateSize(172).numLayers(2).numHeads(4).vocabSize(256)
 *         .build("tiny", manager);
 * LlamaModel l2 = Llama.preset("llama2-7b-pure").build("llama2-7b-pure", manager);
 * }</pre>
 */
public final class Llama {

    private Llama() {}

    /** The tiny random Llama-2-style model of {@code merv-tiny}. */
    public static final String TINY_LLAMA2 = "llama2-tiny-pure";

    /** Preset ids (the reference's LLM ids) to the HF repos they mirror. */
    public static final Map<String, String> PRESET_REPOS;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("llama2-7b-pure", "meta-llama/Llama-2-7b-hf");
        m.put("llama2-13b-pure", "meta-llama/Llama-2-13b-hf");
        m.put("llama2-7b-chat", "meta-llama/Llama-2-7b-chat-hf");
        m.put("llama2-13b-chat", "meta-llama/Llama-2-13b-chat-hf");
        m.put("vicuna-v15-7b", "lmsys/vicuna-7b-v1.5");
        m.put("vicuna-v15-13b", "lmsys/vicuna-13b-v1.5");
        m.put("llama3-8b-pure", "meta-llama/Meta-Llama-3-8B");
        m.put("llama3-8b-chat", "meta-llama/Meta-Llama-3-8B-Instruct");
        m.put("llama3.1-8b-chat", "meta-llama/Meta-Llama-3.1-8B-Instruct");
        // merv's own tiny random LLM (tests and the demo): Llama-2 geometry at width 64, the real Llama-2
        // tokenizer, written to and read from an HF-layout directory like any checkpoint
        m.put(TINY_LLAMA2, "merv/llama2-tiny-pure (random, generated locally)");
        PRESET_REPOS = java.util.Collections.unmodifiableMap(m);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding the named checkpoint's {@code config.json} values. */
    public static Builder preset(String id) {
        switch (id) {
            case "llama2-7b-pure":
            case "llama2-7b-chat":
            case "vicuna-v15-7b":
                // Llama-2-7b(-chat)-hf and vicuna-7b-v1.5 share these values
                return builder().vocabSize(32000).hiddenSize(4096).intermediateSize(11008).numLayers(32).numHeads(32)
                        .numKvHeads(32).rmsNormEps(1e-5).ropeTheta(10000).maxPositionEmbeddings(4096)
                        .bosTokenId(1).eosTokenId(2);
            case "llama2-13b-pure":
            case "llama2-13b-chat":
            case "vicuna-v15-13b":
                return builder().vocabSize(32000).hiddenSize(5120).intermediateSize(13824).numLayers(40).numHeads(40)
                        .numKvHeads(40).rmsNormEps(1e-5).ropeTheta(10000).maxPositionEmbeddings(4096)
                        .bosTokenId(1).eosTokenId(2);
            case "llama3-8b-pure":
            case "llama3-8b-chat":
                return builder().vocabSize(128256).hiddenSize(4096).intermediateSize(14336).numLayers(32).numHeads(32)
                        .numKvHeads(8).rmsNormEps(1e-5).ropeTheta(500000).maxPositionEmbeddings(8192)
                        .bosTokenId(128000).eosTokenId(id.endsWith("chat") ? 128009 : 128001);
            case "llama3.1-8b-chat":
                return builder().vocabSize(128256).hiddenSize(4096).intermediateSize(14336).numLayers(32).numHeads(32)
                        .numKvHeads(8).rmsNormEps(1e-5).ropeTheta(500000).maxPositionEmbeddings(131072)
                        .ropeScaling(RopeScaling.llama31()).bosTokenId(128000).eosTokenId(128009);
            case TINY_LLAMA2:
                return builder().vocabSize(32000).hiddenSize(64).intermediateSize(176).numLayers(2).numHeads(4)
                        .numKvHeads(4).rmsNormEps(1e-5).ropeTheta(10000).maxPositionEmbeddings(4096)
                        .bosTokenId(1).eosTokenId(2);
            default:
                throw new IllegalArgumentException("unknown Llama preset '" + id + "'; known: " + PRESET_REPOS.keySet());
        }
    }

    public static Set<String> presets() {
        return PRESET_REPOS.keySet();
    }

    /** Parses an HF Llama {@code config.json}; unsupported settings fail naming the field. */
    public static LlamaConfig config(JsonObject json, String source) {
        return LlamaConfig.fromLlamaJson(json, source);
    }

    /**
     * Builds from {@code dir/config.json} and loads {@code dir}'s safetensors (sharded or not) in
     * {@code dtype}. The config is validated before any weight is read.
     */
    public static LlamaModel fromPretrained(String id, Path dir, ScalarType dtype, NDManager parent) {
        LlamaConfig cfg = config(ModelDirectory.readConfig(dir), dir.resolve("config.json").toString());
        return load(id, cfg, dir, dtype, parent);
    }

    /**
     * Builds {@code cfg} (already parsed and validated by the family's {@code config}) and loads
     * {@code dir}'s safetensors in {@code dtype}; the model is closed if loading fails. Shared by every
     * family on the Llama decoder.
     */
    public static LlamaModel load(String id, LlamaConfig cfg, Path dir, ScalarType dtype, NDManager parent) {
        LlamaModel m = new LlamaModel(id, cfg, parent);
        try (ModelDirectory md = ModelDirectory.open(dir)) {
            m.load(md, dtype);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    /** Fluent construction of a {@link LlamaConfig}; defaults are Llama 2's. */
    public static final class Builder {
        private String modelType = "llama";
        private int vocabSize = 32000;
        private int hiddenSize = 4096;
        private int intermediateSize = 11008;
        private int numLayers = 32;
        private int numHeads = 32;
        private int numKvHeads = -1;
        private int headDim = -1;
        private double rmsNormEps = 1e-5;
        private double ropeTheta = 10000;
        private RopeScaling ropeScaling;
        private int maxPositionEmbeddings = 4096;
        private boolean qkvBias;
        private boolean outputBias;
        private boolean mlpBias;
        private boolean tieWordEmbeddings;
        private long bosTokenId = 1;
        private long eosTokenId = 2;

        Builder() {}

        public Builder modelType(String v) { modelType = v; return this; }
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder numLayers(int v) { numLayers = v; return this; }
        public Builder numHeads(int v) { numHeads = v; return this; }
        public Builder numKvHeads(int v) { numKvHeads = v; return this; }
        public Builder headDim(int v) { headDim = v; return this; }
        public Builder rmsNormEps(double v) { rmsNormEps = v; return this; }
        public Builder ropeTheta(double v) { ropeTheta = v; return this; }
        public Builder ropeScaling(RopeScaling v) { ropeScaling = v; return this; }
        public Builder maxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder outputBias(boolean v) { outputBias = v; return this; }
        public Builder mlpBias(boolean v) { mlpBias = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder bosTokenId(long v) { bosTokenId = v; return this; }
        public Builder eosTokenId(long v) { eosTokenId = v; return this; }

        public LlamaConfig config() {
            int kv = numKvHeads < 0 ? numHeads : numKvHeads;
            int hd = headDim < 0 ? hiddenSize / numHeads : headDim;
            return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, kv, hd,
                    rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, qkvBias, outputBias, mlpBias,
                    tieWordEmbeddings, bosTokenId, eosTokenId);
        }

        /** An empty model (weights unset: load them or call {@code initRandom}). */
        public LlamaModel build(String id, NDManager parent) {
            return new LlamaModel(id, config(), parent);
        }

        public LlamaModel build(NDManager parent) {
            return build(modelType + "-custom", parent);
        }
    }
}
