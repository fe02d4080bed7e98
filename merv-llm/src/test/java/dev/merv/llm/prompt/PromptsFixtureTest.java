package dev.merv.llm.prompt;

import dev.merv.llm.TestTokenizers;
import dev.merv.llm.HfTokenizer;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.PromptFormat;
import dev.merv.core.testing.Fixture;
import dev.merv.core.text.EncodedText;
import dev.merv.core.text.Turn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of the {@code prompts} fixture: each turn's message string, the ids DJL's tokenizer gives on the
 * named tokenizer file, and the labels.
 */
class PromptsFixtureTest {

    private static final Map<String, HfTokenizer> TOKENIZERS = new HashMap<>();

    static JsonArray cases() {
        Fixture f = Fixture.open("prompts");
        try {
            return JsonParser.parseString(Files.readString(f.file("cases.json"), StandardCharsets.UTF_8)).getAsJsonArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> allCases() {
        List<Arguments> out = new ArrayList<>();
        JsonArray cs = cases();
        assertThat(cs.size()).as("prompts/cases.json cases").isPositive();
        for (JsonElement e : cs) {
            JsonObject c = e.getAsJsonObject();
            out.add(Arguments.of(c.get("family").getAsString() + "#" + c.get("row").getAsInt(), c));
        }
        return out.stream();
    }

    static PromptFormat format(String family) {
        switch (family) {
            case "llama2-pure": return PromptFormat.PURE;
            case "vicuna-v15": return PromptFormat.VICUNA_V15;
            case "llama2-chat": return PromptFormat.LLAMA2_CHAT;
            case "llama3.1": return PromptFormat.LLAMA31;
            case "qwen2.5": return PromptFormat.QWEN2;
            default: throw new AssertionError("unknown family in prompts fixture: " + family);
        }
    }

    static synchronized HfTokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, TestTokenizers::load);
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(HfTokenizer::close);
        TOKENIZERS.clear();
    }

    static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    @ParameterizedTest(name = "[prompts {0}]")
    @MethodSource("allCases")
    void messagesIdsAndLabelsMatch(String name, JsonObject c) {
        ReferenceTextPipeline p = new ReferenceTextPipeline(tokenizer(c.get("tokenizer").getAsString()),
                format(c.get("family").getAsString()));
        JsonArray turnsJson = c.getAsJsonArray("turns");
        List<Turn> turns = new ArrayList<>();
        for (JsonElement t : turnsJson) {
            turns.add(new Turn(t.getAsJsonObject().get("role").getAsString(), t.getAsJsonObject().get("value").getAsString()));
        }
        List<String> rendered = p.renderTurns(turns);
        List<long[]> ids = p.encodeTurns(turns);
        for (int i = 0; i < turnsJson.size(); i++) {
            JsonObject t = turnsJson.get(i).getAsJsonObject();
            assertThat(rendered.get(i).replaceAll("\\s+$", "")).as("%s turn %d message", name, i)
                    .isEqualTo(t.get("message").getAsString());
            assertThat(t.get("add_special_tokens").getAsBoolean()).as("fixture special-token rule").isEqualTo(i == 0);
            assertThat(ids.get(i)).as("%s turn %d ids (DJL tokenizer)", name, i).containsExactly(longs(t.getAsJsonArray("input_ids")));
        }
        boolean media = c.get("has_image").getAsBoolean() || c.get("has_video").getAsBoolean();
        EncodedText enc = p.encodeConversation(turns, media, 2048);
        assertThat(enc.ids()).as("%s input_ids", name).containsExactly(longs(c.getAsJsonArray("input_ids")));
        assertThat(enc.labels()).as("%s labels", name).containsExactly(longs(c.getAsJsonArray("labels")));
    }
}
