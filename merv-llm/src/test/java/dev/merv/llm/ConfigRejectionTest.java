package dev.merv.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.testing.Fixture;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.RopeScaling;
import dev.merv.llm.qwen2.Qwen2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        e.addProperty("num_key_value_heads", 3);
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

    @Test
    void fixtureConfigsParse() {
        LlamaConfig l3 = DecoderConfigs.parse(fixtureConfig("llama3-tiny"), "cfg");
        assertThat(l3.ropeScaling()).isEqualTo(new RopeScaling("llama3", 8.0, 1.0, 4.0, 8192));
        assertThat(l3.gqa()).isTrue();
        LlamaConfig q = DecoderConfigs.parse(fixtureConfig("qwen2-tiny"), "cfg");
        assertThat(q.qkvBias()).isTrue();
        assertThat(q.outputBias()).isFalse();
        assertThat(q.bosTokenId()).isEqualTo(-1);
    }
}
