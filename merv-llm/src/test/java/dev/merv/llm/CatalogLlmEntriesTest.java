package dev.merv.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.LlmEntry;
import dev.merv.core.catalog.Provenance;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LLM catalog through merv-llm: every entry's config values parse with the family's parser into what the
 * former presets held ({@code catalog/llms-before-catalog.json}, dumped from the former registry and preset
 * switches before the catalog replaced them), empty models at real size have the released parameter counts,
 * and pinned tokenizers are looked up at their revision.
 */
class CatalogLlmEntriesTest {

    @Test
    void everyEntryEqualsTheFormerRegistry() throws IOException {
        JsonObject before;
        try (InputStream in = CatalogLlmEntriesTest.class.getResourceAsStream("/catalog/llms-before-catalog.json")) {
            assertThat(in).isNotNull();
            before = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        assertThat(new HashSet<>(LlmRegistry.ids())).isEqualTo(before.keySet());
        Gson g = new GsonBuilder().serializeNulls().create();
        for (String id : before.keySet()) {
            JsonObject was = before.getAsJsonObject(id);
            LlmEntry e = LlmRegistry.spec(id);
            String at = id + ": ";
            if (e.provenance() == Provenance.MERV_TINY) {
                assertThat(e.hub()).as(at + "written locally").isNull();
            } else {
                assertThat(e.hub().repo()).as(at + "repo").isEqualTo(was.get("hf_repo").getAsString());
            }
            assertThat(e.family().name()).as(at + "family").isEqualTo(was.get("family").getAsString());
            assertThat(e.prompt().name()).as(at + "prompt").isEqualTo(was.get("prompt").getAsString());
            assertThat(g.toJsonTree(e.pad())).as(at + "pad").isEqualTo(was.get("pad"));
            assertThat(e.padToMultipleOf()).as(at + "resize multiple").isEqualTo(was.get("pad_to_multiple_of").getAsInt());
            assertThat(e.inferenceDtype().name()).as(at + "inference dtype").isEqualTo(was.get("inference_dtype").getAsString());
            // the catalog's config values through the family parser = the former preset's LlamaConfig, field by field
            LlamaConfig parsed = LlmRegistry.config(id, e.config(), "catalog " + id);
            assertThat(g.toJsonTree(parsed)).as(at + "config").isEqualTo(was.get("config"));
            assertThat(LlmRegistry.preset(id).config()).as(at + "preset").isEqualTo(parsed);
            assertThat(e.hiddenSize()).hasValue(parsed.hiddenSize());
        }
    }

    @Test
    void emptyModelsAtRealSizeHaveTheReleasedParameterCounts() {
        try (NDManager m = NDManager.newBaseManager()) {
            // HF parameter counts of the released checkpoints (before merv's <PAD> resize)
            assertThat(count("llama2-7b-pure", m)).isEqualTo(6_738_415_616L);
            assertThat(count("llama2-13b-chat", m)).isEqualTo(13_015_864_320L);
            assertThat(count("llama3-8b-pure", m)).isEqualTo(8_030_261_248L);
            assertThat(count("llama3.1-8b-chat", m)).isEqualTo(8_030_261_248L);
            assertThat(count("qwen2.5-0.5b-instruct", m)).isEqualTo(494_032_768L);
            assertThat(count("qwen2.5-7b-instruct", m)).isEqualTo(7_615_616_512L);
            for (String id : LlmRegistry.ids()) {
                assertThat(count(id, m)).as(id).isPositive();
            }
        }
    }

    private static long count(String id, NDManager m) {
        try (LlamaModel model = LlmRegistry.preset(id).build(id, m)) {
            return model.parameterCount();
        }
    }

    @Test
    void fixtureNamesAreKnownButHaveNoPreset() {
        for (String id : new String[] {"llama2-tiny", Catalog.TINY_LLAMA3, "qwen2-tiny"}) {
            assertThat(Catalog.llm(id).provenance()).isEqualTo(Provenance.TEST_FIXTURE);
            assertThatThrownBy(() -> LlmRegistry.preset(id)).hasMessageContaining(id).hasMessageContaining("preset");
        }
        assertThat(Llama.presets()).contains("llama2-7b-pure", Catalog.TINY_LLAMA2).doesNotContain("qwen2.5-7b-instruct");
    }

    @Test
    void pinnedTokenizersAreReadAtTheirRevision(@TempDir Path tmp) throws IOException {
        Path hub = tmp.resolve("hub");
        Path weights = Files.createDirectories(tmp.resolve("weights"));
        Path explicit = Files.createDirectories(tmp.resolve("tok"));
        // no pin: the checkpoint's own files; an explicit directory always wins
        assertThat(LlmRegistry.tokenizerDir("llama2-7b-pure", null, weights, hub)).isEqualTo(weights);
        assertThat(LlmRegistry.tokenizerDir("llama3-8b-chat", explicit, weights, hub)).isEqualTo(explicit);
        // pinned and absent: the error names repo@revision and where it looked
        assertThatThrownBy(() -> LlmRegistry.tokenizerDir("llama3-8b-chat", null, weights, hub))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("meta-llama/Meta-Llama-3-8B@refs/pr/42")
                .hasMessageContaining("models--meta-llama--Meta-Llama-3-8B");
        // pinned and cached (HF layout: refs/refs/pr/N holds the commit of the snapshot)
        Path repo = hub.resolve("models--meta-llama--Meta-Llama-3-8B");
        Path pr41 = Files.createDirectories(repo.resolve("snapshots").resolve("a41"));
        Path pr42 = Files.createDirectories(repo.resolve("snapshots").resolve("b42"));
        Files.createDirectories(repo.resolve("refs").resolve("refs").resolve("pr"));
        Files.writeString(repo.resolve("refs").resolve("refs").resolve("pr").resolve("41"), "a41");
        Files.writeString(repo.resolve("refs").resolve("refs").resolve("pr").resolve("42"), "b42");
        assertThat(LlmRegistry.tokenizerDir("llama3-8b-pure", null, weights, hub)).isEqualTo(pr41);
        assertThat(LlmRegistry.tokenizerDir("llama3-8b-chat", null, weights, hub)).as("W20: the base repo's").isEqualTo(pr42);
    }
}
