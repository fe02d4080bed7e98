package dev.merv.llm.llama;

import dev.merv.llm.TestTokenizers;
import dev.merv.llm.LlmRegistry;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.llm.qwen2.Qwen2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HF directories: sharded safetensors, tied heads, the reference's {@code <PAD>} resize, presets. */
class PretrainedLoadingTest {

    /** Writes the fixture's weights into {@code dir} as two shards plus an index, with its config.json. */
    static void shard(Fixture f, Path dir, NDManager m) throws IOException {
        SafeTensors st = f.model();
        List<String> names = st.names().stream().sorted().toList();
        Map<String, NDArray> a = new LinkedHashMap<>();
        Map<String, NDArray> b = new LinkedHashMap<>();
        JsonObject weightMap = new JsonObject();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            boolean first = i % 2 == 0;
            (first ? a : b).put(n, st.load(n, m, null));
            weightMap.addProperty(n, first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        SafeTensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), a);
        SafeTensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), b);
        JsonObject index = new JsonObject();
        index.add("metadata", new JsonObject());
        index.add("weight_map", weightMap);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        Files.writeString(dir.resolve("config.json"), f.config().toString());
    }

    @Test
    void shardedLlamaDirectoryGivesTheFixtureLogits(@TempDir Path dir) throws IOException {
        try (Fixture f = Fixture.open("llama3-tiny"); NDManager m = NDManager.newBaseManager()) {
            shard(f, dir, m);
            try (LlamaModel model = Llama.fromPretrained("llama3-tiny", dir, ScalarType.FLOAT32, m)) {
                NDArray logits = model.forward(model.embed(f.io("input.input_ids", m)), f.io("input.attention_mask", m),
                        null, null);
                f.assertMatches("output.logits", logits);
            }
        }
    }

    @Test
    void qwenDirectoryLoadsThroughItsFamily(@TempDir Path dir) throws IOException {
        try (Fixture f = Fixture.open("qwen2-tiny"); NDManager m = NDManager.newBaseManager()) {
            shard(f, dir, m);
            try (LlamaModel model = Qwen2.fromPretrained("qwen2-tiny", dir, ScalarType.FLOAT32, m)) {
                NDArray logits = model.forward(model.embed(f.io("input.input_ids", m)), f.io("input.attention_mask", m),
                        null, null);
                f.assertMatches("output.logits", logits);
            }
        }
    }

    @Test
    void tiedHeadIgnoresAStoredLmHeadAndUsesTheEmbedding(@TempDir Path dir) throws IOException {
        try (Fixture f = Fixture.open("qwen2-tiny"); NDManager m = NDManager.newBaseManager()) {
            shard(f, dir, m);
            JsonObject cfg = f.config().deepCopy();
            cfg.addProperty("tie_word_embeddings", true);
            Files.writeString(dir.resolve("config.json"), cfg.toString());
            try (LlamaModel model = Qwen2.fromPretrained("qwen2-tied", dir, ScalarType.FLOAT32, m)) {
                assertThat(model.weightTable()).doesNotContainKey("lm_head.weight");
                NDArray h = model.embed(f.io("input.input_ids", m));
                try (var ctx = model.prepare(null, null, null, (int) h.getShape().get(1))) {
                    for (int i = 0; i < model.numLayers(); i++) {
                        h = model.layer(i, h, ctx);
                    }
                }
                NDArray logits = model.head(h);
                NDArray normed = model.finalNorm(h);
                assertThat(logits.getShape().get(2)).isEqualTo(model.vocabSize());
                NDArray expected = normed.matMul(model.weightTable().get("model.embed_tokens.weight").get().transpose());
                Compare.assertClose("tied head = embedding^T", logits, expected, 1e-5, 1e-5);
            }
        }
    }

    @Test
    void registryResizesEmbeddingsForAddedPad(@TempDir Path dir) throws IOException {
        try (Fixture f = Fixture.open("llama2-tiny"); NDManager m = NDManager.newBaseManager()) {
            shard(f, dir, m);
            try (LlamaModel model = LlmRegistry.fromPretrained("llama2-7b-pure", dir, TestTokenizers.dir("llama2"),
                    ScalarType.FLOAT32, m, LlmRegistry.Options.PARITY, 7)) {
                // the llama2 tokenizer plus <PAD> has 32001 tokens -> 32064 rows (multiple of 64)
                assertThat(model.vocabSize()).isEqualTo(32064);
                assertThat(model.text().tokenizer().padId()).isEqualTo(32000);
                int stored = f.config().get("vocab_size").getAsInt();
                NDArray emb = model.weightTable().get("model.embed_tokens.weight").get();
                NDArray head = model.weightTable().get("lm_head.weight").get();
                Compare.assertClose("stored rows kept", emb.get(":" + stored), f.model().load("model.embed_tokens.weight", m, null),
                        0, 0);
                Compare.assertClose("stored head rows kept", head.get(":" + stored), f.model().load("lm_head.weight", m, null),
                        0, 0);
                float[] added = emb.get(stored + ":").toFloatArray();
                double sq = 0;
                for (float v : added) {
                    sq += v * v;
                }
                double std = Math.sqrt(sq / added.length);
                assertThat(std).as("new rows ~ Normal(0, initializer_range 0.02)").isBetween(0.018, 0.022);
                assertThat(model.text().inferencePrompt("Hi")).isEqualTo("In: Hi\nOut:");
            }
        }
    }

    @Test
    void presetsCarryTheCheckpointValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThat(Llama.preset("llama2-7b-pure").config().intermediateSize()).isEqualTo(11008);
            assertThat(Llama.preset("vicuna-v15-13b").config().hiddenSize()).isEqualTo(5120);
            var l31 = Llama.preset("llama3.1-8b-chat").config();
            assertThat(l31.numKvHeads()).isEqualTo(8);
            assertThat(l31.ropeScaling()).isNotNull();
            assertThat(l31.ropeTheta()).isEqualTo(500000);
            var q05 = Qwen2.preset("qwen2.5-0.5b-instruct").config();
            assertThat(q05.tieWordEmbeddings()).isTrue();
            assertThat(q05.headDim()).isEqualTo(64);
            assertThat(Qwen2.preset("qwen2.5-7b-instruct").config().tieWordEmbeddings()).isFalse();
            for (String id : LlmRegistry.ids()) {
                var c = LlmRegistry.preset(id).config();
                assertThat(c.hiddenSize() % c.numHeads()).as(id).isZero();
            }
            // an empty model of a preset has exactly the HF parameter count (Llama-2-7B: 6,738,415,616)
            LlamaModel shape = Llama.preset("llama2-7b-pure").build("llama2-7b-pure", m);
            assertThat(shape.parameterCount()).isEqualTo(6_738_415_616L);
            LlamaModel qwen = Qwen2.preset("qwen2.5-0.5b-instruct").build("qwen2.5-0.5b-instruct", m);
            assertThat(qwen.parameterCount()).isEqualTo(494_032_768L);
        }
    }
}
