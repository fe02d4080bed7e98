package dev.merv.llm.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT adapter files (written, read back, refused when merv cannot reproduce them, each refusal naming the file
 * and the field or tensor) and LoRA's dropout (only while training; a layer run again in the same forward, as
 * recomputation does, drops the same inputs). The model is the {@code lora-llama-tiny} fixture's.
 */
class LoraAdaptersTest {

    private static final String NAME = "lora-llama-tiny";

    @Test
    void writtenAdaptersReadBackWithPeftsKeysAndConfig(@TempDir Path tmp) throws IOException {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            LlamaModel model = LoraFixtureTest.base(f, m);
            Lora loaded = PeftAdapters.load(model, f.dir().resolve("peft"), ScalarType.FLOAT32);
            LoraConfig cfg = loaded.config().withDropout(0.05).withRslora(true);
            Map<String, NDArray> values = new LinkedHashMap<>();
            loaded.parameters().forEach((n, p) -> values.put(n, p.get()));
            Path out = tmp.resolve("adapter");
            PeftAdapters.write(out, cfg, "org/base-model", values);

            JsonObject json = JsonParser.parseString(Files.readString(out.resolve(PeftAdapters.CONFIG))).getAsJsonObject();
            assertThat(json.get("peft_type").getAsString()).isEqualTo("LORA");
            assertThat(json.get("r").getAsInt()).isEqualTo(cfg.r());
            assertThat(json.get("lora_alpha").getAsDouble()).isEqualTo(cfg.alpha());
            assertThat(json.get("lora_dropout").getAsDouble()).isEqualTo(0.05);
            assertThat(json.get("use_rslora").getAsBoolean()).isTrue();
            assertThat(json.get("base_model_name_or_path").getAsString()).isEqualTo("org/base-model");
            assertThat(new Gson().fromJson(json.get("target_modules"), List.class)).isEqualTo(cfg.targets());
            assertThat(PeftAdapters.readConfig(out)).isEqualTo(cfg);
            assertThat(PeftAdapters.baseModel(out)).isEqualTo("org/base-model");
            try (SafeTensors st = SafeTensors.open(out.resolve(PeftAdapters.WEIGHTS));
                    SafeTensors src = SafeTensors.open(f.dir().resolve("peft").resolve(PeftAdapters.WEIGHTS))) {
                assertThat(st.names()).isEqualTo(src.names());
                assertThat(st.names()).allMatch(n -> n.startsWith("base_model.model.model.layers."));
                for (String n : src.names()) {
                    assertThat(st.load(n, m, null).toFloatArray()).as(n).containsExactly(src.load(n, m, null).toFloatArray());
                }
            }
        }
    }

    @Test
    void adaptersMervCannotReproduceAreRefusedNamingTheFieldOrTensor(@TempDir Path tmp) throws IOException {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager()) {
            Path src = f.dir().resolve("peft");
            assertRefused(tmp, "dora", src, o -> o.addProperty("use_dora", true), null, m, "use_dora");
            assertRefused(tmp, "bias", src, o -> o.addProperty("bias", "all"), null, m, "bias");
            assertRefused(tmp, "rank", src, o -> {
                JsonObject p = new JsonObject();
                p.addProperty("model.layers.0.self_attn.q_proj", 8);
                o.add("rank_pattern", p);
            }, null, m, "rank_pattern");
            assertRefused(tmp, "ia3", src, o -> o.addProperty("peft_type", "IA3"), null, m, "peft_type");
            assertRefused(tmp, "save", src, o -> o.add("modules_to_save", JsonParser.parseString("[\"lm_head\"]")), null, m,
                    "modules_to_save");
            // a rank that does not fit the tensors: the shape check names the tensor and both shapes
            assertRefused(tmp, "r", src, o -> o.addProperty("r", o.get("r").getAsInt() + 1), null, m,
                    "base_model.model.model.layers.0");
            // tensors: one factor missing, an adapter on a layer merv's decoder does not have, a foreign tensor
            assertRefused(tmp, "noB", src, null, t -> t.remove("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"),
                    m, "model.layers.1.mlp.up_proj has no lora_B");
            assertRefused(tmp, "head", src, null, t -> {
                t.put("base_model.model.lm_head.lora_A.weight", t.get("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight"));
                t.put("base_model.model.lm_head.lora_B.weight", t.get("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight"));
            }, m, "lm_head");
            assertRefused(tmp, "extra", src, null, t -> t.put("base_model.model.model.norm.weight",
                    t.get("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight")), m, "model.norm.weight");
            assertThatThrownBy(() -> PeftAdapters.load(LoraFixtureTest.base(f, m), tmp.resolve("nothing"), null))
                    .hasMessageContaining(tmp.resolve("nothing").resolve(PeftAdapters.CONFIG).toString());
        }
    }

    private static void assertRefused(Path tmp, String name, Path src, Consumer<JsonObject> config,
            Consumer<Map<String, NDArray>> tensors, NDManager m, String fragment) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        JsonObject o = JsonParser.parseString(Files.readString(src.resolve(PeftAdapters.CONFIG))).getAsJsonObject();
        if (config != null) {
            config.accept(o);
        }
        Files.writeString(dir.resolve(PeftAdapters.CONFIG), o.toString(), StandardCharsets.UTF_8);
        Map<String, NDArray> t = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(src.resolve(PeftAdapters.WEIGHTS))) {
            for (String n : st.names()) {
                t.put(n, st.load(n, m, null));
            }
        }
        if (tensors != null) {
            tensors.accept(t);
        }
        SafeTensorsWriter.write(dir.resolve(PeftAdapters.WEIGHTS), t);
        try (Fixture f = Fixture.openOwn(NAME)) {
            LlamaModel model = LoraFixtureTest.base(f, m);
            assertThatThrownBy(() -> PeftAdapters.load(model, dir, ScalarType.FLOAT32)).as(name)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining(fragment);
        }
    }

    @Test
    void dropoutActsOnlyWhileTrainingAndRepeatsWithinAForward() {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            LlamaModel plain = LoraFixtureTest.base(f, m);
            Lora lp = PeftAdapters.load(plain, f.dir().resolve("peft"), ScalarType.FLOAT32);
            LlamaModel dropping = LoraFixtureTest.base(f, m);
            Lora ld = Lora.apply(dropping, lp.config().withDropout(0.5));
            ld.initialize(5, m);
            lp.parameters().forEach((n, p) -> ld.parameters().get(n).set(p.get().duplicate()));

            NDArray x = LoraFixtureTest.logits(plain, f, m);
            // not training: dropout is off, the outputs are the plain adapters'
            assertThat(LoraFixtureTest.logits(dropping, f, m).toFloatArray()).containsExactly(x.toFloatArray());

            ld.training(true);
            NDArray ids = f.io("input.input_ids", m);
            NDArray mask = f.io("input.attention_mask", m);
            float[] first;
            float[] again;
            float[] next;
            try (LanguageModel.LayerContext ctx = dropping.prepare(mask, null, null, (int) ids.getShape().get(1))) {
                NDArray h = dropping.embed(ids);
                first = dropping.layer(0, h, ctx).toFloatArray();
                again = dropping.layer(0, h, ctx).toFloatArray();
            }
            try (LanguageModel.LayerContext ctx = dropping.prepare(mask, null, null, (int) ids.getShape().get(1))) {
                next = dropping.layer(0, dropping.embed(ids), ctx).toFloatArray();
            }
            assertThat(again).as("layer 0 rerun within the same forward (recomputation)").containsExactly(first);
            assertThat(next).as("the next forward draws new masks").isNotEqualTo(first);
            float[] off;
            try (LanguageModel.LayerContext ctx = plain.prepare(mask, null, null, (int) ids.getShape().get(1))) {
                off = plain.layer(0, plain.embed(ids), ctx).toFloatArray();
            }
            assertThat(first).as("dropout changes the adapters' input").isNotEqualTo(off);
        }
    }
}
