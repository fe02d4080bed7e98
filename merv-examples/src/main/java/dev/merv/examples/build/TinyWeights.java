package dev.merv.examples.build;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.nn.Param;
import dev.merv.core.nn.RandomInit;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes {@code merv-tiny}'s random backbones as HF-layout directories ({@code config.json},
 * {@code model.safetensors}, tokenizer files for the LLM) under one root, one folder per backbone id,
 * so that the demo and the tests load them through exactly the code path real checkpoints take.
 */
public final class TinyWeights {

    private static final List<String> TINY_ENCODERS = List.of(Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2,
            Catalog.TINY_HIERA, Catalog.TINY_SIGLIP);

    private TinyWeights() {}

    /** Writes every tiny backbone under {@code root} (seeded) unless it is already there; returns {@code root}. */
    public static Path ensure(Path root, long seed) {
        int i = 0;
        for (String id : TINY_ENCODERS) {
            Path dir = root.resolve(id);
            if (!Files.exists(dir.resolve("model.safetensors"))) {
                writeEncoder(id, dir, seed + 1 + i);
            }
            i++;
        }
        Path llm = root.resolve(Catalog.TINY_LLAMA2);
        if (!Files.exists(llm.resolve("model.safetensors"))) {
            writeLlm(llm, seed);
        }
        return root;
    }

    static void writeEncoder(String id, Path dir, long seed) {
        JsonObject config = Catalog.encoder(id).config();
        FrozenVideoEncoder enc = EncoderRegistry.create(id);
        try (NDManager m = NDManager.newBaseManager()) {
            RandomInit.initialize(enc.module(), seed, m);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            enc.module().namedParameters().forEach((n, p) -> tensors.put(n, p.get()));
            write(dir, config, tensors);
        }
    }

    static void writeLlm(Path dir, long seed) {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaModel llm = Llama.preset(Catalog.TINY_LLAMA2).build(Catalog.TINY_LLAMA2, m);
            llm.initRandom(seed, ScalarType.FLOAT32);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Param> e : llm.weightTable().entrySet()) {
                tensors.put(e.getKey(), e.getValue().get());
            }
            write(dir, hfConfig(llm.config()), tensors);
            BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, dir);
            llm.close();
        }
    }

    /** The HF {@code config.json} of a Llama config (the fields {@code LlamaConfig} reads back). */
    static JsonObject hfConfig(LlamaConfig c) {
        JsonObject o = new JsonObject();
        var arch = new com.google.gson.JsonArray();
        arch.add("LlamaForCausalLM");
        o.add("architectures", arch);
        o.addProperty("model_type", c.modelType());
        o.addProperty("vocab_size", c.vocabSize());
        o.addProperty("hidden_size", c.hiddenSize());
        o.addProperty("intermediate_size", c.intermediateSize());
        o.addProperty("num_hidden_layers", c.numLayers());
        o.addProperty("num_attention_heads", c.numHeads());
        o.addProperty("num_key_value_heads", c.numKvHeads());
        o.addProperty("head_dim", c.headDim());
        o.addProperty("hidden_act", "silu");
        o.addProperty("rms_norm_eps", c.rmsNormEps());
        o.addProperty("rope_theta", c.ropeTheta());
        o.addProperty("max_position_embeddings", c.maxPositionEmbeddings());
        o.addProperty("attention_bias", c.qkvBias());
        o.addProperty("mlp_bias", c.mlpBias());
        o.addProperty("tie_word_embeddings", c.tieWordEmbeddings());
        o.addProperty("bos_token_id", c.bosTokenId());
        o.addProperty("eos_token_id", c.eosTokenId());
        o.addProperty("initializer_range", 0.02);
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    private static void write(Path dir, JsonObject config, Map<String, NDArray> tensors) {
        try {
            Files.createDirectories(dir);
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(config),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("writing tiny weights to " + dir, e);
        }
    }
}
