package dev.merv.llm.llama;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.LlmEntry;
import dev.merv.core.catalog.LlmFamily;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import java.nio.file.Path;
import java.util.List;

/**
 * Llama-family entry points: a builder, named presets holding the catalog entries' config values (the
 * released checkpoints' {@code config.json}, parsed by {@link #config} like any checkpoint's), and
 * {@link #fromPretrained} for HF directories (single or sharded safetensors).
 *
 * <pre>{@code
 * LlamaModel m = Llama.builder().hiddenSize(64).intermediateSize(172).numLayers(2).numHeads(4).vocabSize(256)
 *         .build("tiny", manager);
 * LlamaModel l2 = Llama.preset("llama2-7b-pure").build("llama2-7b-pure", manager);
 * }</pre>
 */
public final class Llama {

    private Llama() {}

    /** A builder with Llama 2's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder holding the {@code config.json} values of the catalog's Llama-family entry {@code id}
     * ({@code llama2-7b-pure}, {@code vicuna-v15-13b}, {@code llama3.1-8b-chat}, {@code llama2-tiny-pure} ...).
     */
    public static Builder preset(String id) {
        LlmEntry e = Catalog.llm(id);
        if (e.family() != LlmFamily.LLAMA || !e.hasConfig()) {
            throw new IllegalArgumentException("'" + id + "' is not a Llama preset; Llama presets: " + presets());
        }
        return builder(config(e.config(), "catalog entry " + id));
    }

    /** The catalog's Llama-family ids that carry config values. */
    public static List<String> presets() {
        return Catalog.llms().stream().filter(e -> e.family() == LlmFamily.LLAMA && e.hasConfig()).map(LlmEntry::id).toList();
    }

    /** A builder holding {@code c}'s values (a head dim of {@code hidden / heads} stays derived). */
    public static Builder builder(LlamaConfig c) {
        Builder b = new Builder();
        b.modelType = c.modelType();
        b.vocabSize = c.vocabSize();
        b.hiddenSize = c.hiddenSize();
        b.intermediateSize = c.intermediateSize();
        b.numLayers = c.numLayers();
        b.numHeads = c.numHeads();
        b.numKvHeads = c.numKvHeads();
        b.headDim = c.headDim() == c.hiddenSize() / c.numHeads() ? -1 : c.headDim();
        b.rmsNormEps = c.rmsNormEps();
        b.ropeTheta = c.ropeTheta();
        b.ropeScaling = c.ropeScaling();
        b.maxPositionEmbeddings = c.maxPositionEmbeddings();
        b.qkvBias = c.qkvBias();
        b.outputBias = c.outputBias();
        b.mlpBias = c.mlpBias();
        b.tieWordEmbeddings = c.tieWordEmbeddings();
        b.bosTokenId = c.bosTokenId();
        b.eosTokenId = c.eosTokenId();
        return b;
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
