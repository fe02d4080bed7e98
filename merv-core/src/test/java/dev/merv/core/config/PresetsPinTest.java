package dev.merv.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The presets written with named fields equal, field by field, what the former positional /
 * reflection-patched registry produced: {@code catalog/presets-before-catalog.json} was dumped from that
 * code (ConfigJson of every registered id) before it was replaced.
 */
class PresetsPinTest {

    private static JsonObject before() throws IOException {
        try (InputStream in = PresetsPinTest.class.getResourceAsStream("/catalog/presets-before-catalog.json")) {
            assertThat(in).as("catalog/presets-before-catalog.json").isNotNull();
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    @Test
    void everyPresetEqualsTheFormerRegistryFieldByField() throws IOException {
        JsonObject before = before();
        assertThat(new ArrayList<>(ModelRegistry.ids())).containsExactlyElementsOf(before.keySet());
        for (String id : ModelRegistry.ids()) {
            JsonObject now = JsonParser.parseString(ConfigJson.dump(ModelRegistry.get(id))).getAsJsonObject();
            JsonObject was = before.getAsJsonObject(id);
            assertThat(now.keySet()).as(id + " fields").containsExactlyElementsOf(was.keySet());
            for (String field : was.keySet()) {
                JsonElement a = now.get(field);
                JsonElement b = was.get(field);
                assertThat(a).as(id + "." + field).isEqualTo(b);
            }
            // the dump parses back to the same record
            assertThat(ConfigJson.parseModel(ConfigJson.dump(ModelRegistry.get(id)))).isEqualTo(ModelRegistry.get(id));
        }
    }

    @Test
    void builderNamesEveryUnsetFieldAndToBuilderRoundTrips() {
        assertThatThrownBy(() -> ModelConfig.builder().type("x").modelId("x").build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("arch_specifier").hasMessageContaining("fusion_embed_dim")
                .hasMessageNotContaining("align_max_steps");
        for (String id : ModelRegistry.ids()) {
            assertThat(ModelRegistry.get(id).toBuilder().build()).isEqualTo(ModelRegistry.get(id));
        }
        ModelConfig base = ModelRegistry.get(ModelRegistry.MERV_BASE);
        ModelConfig changed = base.toBuilder().numFrames(8, 8, 32, 8).alignMaxSteps(10).build();
        assertThat(changed).isEqualTo(base.with("num_frames", "[8,8,32,8]").with("align_max_steps", "10"));
        assertThat(changed.numFrames()).isEqualTo(List.of(8, 8, 32, 8));
    }
}
