package dev.merv.build;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.nn.RandomInit;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.llama.Llama;
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
 * {@code merv-tiny}'s random backbones written as HF-layout directories ({@code config.json},
 * {@code model.safetensors}, tokenizer files for the LLM) under one root, one folder per backbone id, so
 * that the demo, the tests and anyone trying merv offline load them through exactly the code path real
 * checkpoints take ({@code BackboneWeights.root(root)}). The architectures are the catalog's tiny entries.
 */
public final class TinyBackbones {

    /** merv-tiny's encoders, in its order. */
    public static final List<String> ENCODERS = List.of(Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2, Catalog.TINY_HIERA,
            Catalog.TINY_SIGLIP);

    private TinyBackbones() {}

    /** Writes every tiny backbone under {@code root} (seeded) unless it is already there; returns {@code root}. */
    public static Path write(Path root, long seed) {
        int i = 0;
        for (String id : ENCODERS) {
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
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) { // files: the same bytes on every machine
            RandomInit.initialize(enc.module(), seed, m);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            enc.module().namedParameters().forEach((n, p) -> tensors.put(n, p.get()));
            Files.createDirectories(dir);
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(config),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("writing tiny weights to " + dir, e);
        }
    }

    static void writeLlm(Path dir, long seed) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) { // files: the same bytes on every machine
            LlamaModel llm = Llama.preset(Catalog.TINY_LLAMA2).build(Catalog.TINY_LLAMA2, m);
            llm.initRandom(seed, ScalarType.FLOAT32);
            llm.saveHf(dir);
            BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, dir);
            llm.close();
        }
    }
}
