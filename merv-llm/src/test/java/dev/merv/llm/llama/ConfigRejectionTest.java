package dev.merv.llm.llama;

import dev.merv.llm.DecoderConfigs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.testing.Fixture;
import dev.merv.llm.qwen2.Qwen2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Configs declaring what the decoder does not implement fail when parsed, before any weight is read. */
class ConfigRejectionTest {

    static JsonObject fixtureConfig(String name) {
        try (Fixture f = Fixture.open(name)) {
            return f.config().deepCopy();
        }
    }

    @Test
    void unknownRopeTypeIsNamed() {
        JsonObject c = fixtureConfig("llama3-tiny");
        c.getAsJsonObject("rope_scaling").addProperty("rope_type", "yarn");
        assertThatThrownBy(() -> DecoderConfigs.parse(c, "llama3/config.json"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rope_scaling.rope_type").hasMessageContaining("yarn")
                .hasMessageContaining("llama3/config.json");
    }

    @Test
    void legacyRopeScalingTypeKeyIsReadToo() {
        JsonObject c = fixtureConfig("llama2-tiny");
        c.add("rope_scaling", JsonParser.parseString("{\"type\": \"linear\", \"factor\": 2.0}"));
        assertThatThrownBy(() -> DecoderConfigs.parse(c, "cfg")).hasMessageContaining("rope_scaling.rope_type")
                .hasMessageContaining("linear");
    }

    @Test
    void llama3ScalingNeedsItsFields() {
        JsonObject c = fixtureConfig("llama3-tiny");
        c.getAsJsonObject("rope_scaling").remove("low_freq_factor");
        assertThatThrownBy(() -> DecoderConfigs.parse(c, "cfg")).hasMessageContaining("rope_scaling.low_freq_factor");
    }

    @Test
    void slidingWindowOnIsNamed() {
        JsonObject c = fixtureConfig("qwen2-tiny");
        c.addProperty("use_sliding_window", true);
        assertThatThrownBy(() -> Qwen2.config(c, "qwen/config.json")).hasMessageContaining("use_sliding_window");
    }

    @Test
    void otherActivationsAndDropoutAreNamed() {
        JsonObject c = fixtureConfig("llama2-tiny");
        c.addProperty("hidden_act", "gelu");
        assertThatThrownBy(() -> DecoderConfigs.parse(c, "cfg")).hasMessageContaining("hidden_act");
        JsonObject d = fixtureConfig("llama2-tiny");
        d.addProperty("attention_dropout", 0.1);
        assertThatThrownBy(() -> DecoderConfigs.parse(d, "cfg")).hasMessageContaining("attention_dropout");
        JsonObject e = fixtureConfig("llama2-tiny");
        // one more kv head than query heads never divides them, whatever the fixture's head count
        e.addProperty("num_key_value_heads", e.get("num_attention_heads").getAsInt() + 1);
        assertThatThrownBy(() -> DecoderConfigs.parse(e, "cfg")).hasMessageContaining("num_key_value_heads");
        JsonObject t = fixtureConfig("llama2-tiny");
        t.addProperty("model_type", "mistral");
        assertThatThrownBy(() -> DecoderConfigs.parse(t, "cfg")).hasMessageContaining("model_type")
                .hasMessageContaining("mistral");
    }

    @Test
    void fromPretrainedFailsBeforeReadingWeights(@TempDir Path dir) throws IOException {
        JsonObject c = fixtureConfig("llama3-tiny");
        c.getAsJsonObject("rope_scaling").addProperty("rope_type", "dynamic");
        Files.writeString(dir.resolve("config.json"), c.toString());
        // no weights at all in dir: the config error must come first
        assertThatThrownBy(() -> dev.merv.llm.llama.Llama.fromPretrained("x", dir, null,
                ai.djl.ndarray.NDManager.newBaseManager())).hasMessageContaining("rope_scaling.rope_type");
    }

    /** Every field the decoder reads, against the fixture's config.json values read here directly. */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void fixtureConfigsParse(String name) {
        JsonObject json = fixtureConfig(name);
        LlamaConfig c = DecoderConfigs.parse(json, "cfg");
        boolean qwen = json.get("model_type").getAsString().equals("qwen2");
        assertThat(c.modelType()).isEqualTo(json.get("model_type").getAsString());
        assertThat(c.vocabSize()).isEqualTo(json.get("vocab_size").getAsInt());
        assertThat(c.hiddenSize()).isEqualTo(json.get("hidden_size").getAsInt());
        assertThat(c.intermediateSize()).isEqualTo(json.get("intermediate_size").getAsInt());
        assertThat(c.numLayers()).isEqualTo(json.get("num_hidden_layers").getAsInt());
        int heads = json.get("num_attention_heads").getAsInt();
        int kv = json.has("num_key_value_heads") ? json.get("num_key_value_heads").getAsInt() : heads;
        assertThat(c.numHeads()).isEqualTo(heads);
        assertThat(c.numKvHeads()).isEqualTo(kv);
        assertThat(c.gqa()).isEqualTo(kv != heads);
        assertThat(c.headDim()).isEqualTo(json.has("head_dim") ? json.get("head_dim").getAsInt()
                : json.get("hidden_size").getAsInt() / heads);
        assertThat(c.rmsNormEps()).isEqualTo(json.get("rms_norm_eps").getAsDouble());
        assertThat(c.ropeTheta()).isEqualTo(json.get("rope_theta").getAsDouble());
        assertThat(c.tieWordEmbeddings()).isEqualTo(json.has("tie_word_embeddings") && json.get("tie_word_embeddings").getAsBoolean());
        JsonElement bos = json.get("bos_token_id");
        assertThat(c.bosTokenId()).isEqualTo(bos == null || bos.isJsonNull() ? -1 : bos.getAsLong());
        JsonElement scaling = json.get("rope_scaling");
        if (scaling == null || scaling.isJsonNull()) {
            assertThat(c.ropeScaling()).isNull();
        } else {
            JsonObject s = scaling.getAsJsonObject();
            assertThat(c.ropeScaling()).isEqualTo(new RopeScaling(s.get("rope_type").getAsString(), s.get("factor").getAsDouble(),
                    s.get("low_freq_factor").getAsDouble(), s.get("high_freq_factor").getAsDouble(),
                    s.get("original_max_position_embeddings").getAsInt()));
        }
        boolean attnBias = json.has("attention_bias") && json.get("attention_bias").getAsBoolean();
        assertThat(c.qkvBias()).as("q/k/v biases: always in Qwen2").isEqualTo(qwen || attnBias);
        assertThat(c.outputBias()).as("o_proj bias: never in Qwen2").isEqualTo(!qwen && attnBias);
    }
}
