package dev.merv.data.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.model.MervBatch;
import dev.merv.core.testing.Fixture;
import dev.merv.core.text.EncodedText;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Entry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of the {@code prompts} fixture through the data path: the case's conversation is written as
 * a Video-LLaVA finetune JSON row (with a {@code video} / {@code image} key as the case says), indexed and
 * parsed by {@link VideoLlavaDataset} / {@code EntryParser}, and tokenised and masked by {@link SampleText}
 * (what the loader's {@code SampleBuilder} calls) over the real {@link ReferenceTextPipeline} of the
 * family's LLM id from {@link LlmRegistry}. Rendered turn strings, per-turn ids, the whole row's ids and
 * labels ({@code labels[0] = -100} for media rows) must equal the fixture.
 */
class PromptsFixtureTest {

    private static final String FIXTURE = "prompts";
    /** The fixture does not exercise truncation (meta notes); the reference's llm_max_length. */
    private static final int MAX_LENGTH = 2048;

    @TempDir
    static Path tmp;

    private static JsonArray cases;
    private static VideoLlavaDataset dataset;
    private static final Map<String, ReferenceTextPipeline> PIPELINES = new HashMap<>();

    static JsonArray cases() {
        try (Fixture f = Fixture.open(FIXTURE)) {
            return JsonParser.parseString(Files.readString(f.file("cases.json"), StandardCharsets.UTF_8)).getAsJsonArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> allCases() {
        JsonArray cs = cases();
        assertThat(cs.size()).as("prompts/cases.json cases").isPositive();
        List<Arguments> out = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            JsonObject c = cs.get(i).getAsJsonObject();
            out.add(Arguments.of(FIXTURE + " " + c.get("family").getAsString() + "#" + c.get("row").getAsInt(), i));
        }
        return out.stream();
    }

    /** Writes every case as one row of a finetune JSON (row {@code i} = case {@code i}) and indexes it. */
    @BeforeAll
    static void writeDataset() throws IOException {
        cases = cases();
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();
        StringBuilder json = new StringBuilder("[\n");
        for (int i = 0; i < cases.size(); i++) {
            JsonObject c = cases.get(i).getAsJsonObject();
            JsonObject row = new JsonObject();
            row.addProperty("id", c.get("family").getAsString() + "_" + c.get("row").getAsInt());
            if (c.get("has_image").getAsBoolean()) {
                row.addProperty("image", DatasetRegistry.LLAVA_IMAGE_TUNE + "/coco/train2017/case_" + i + ".jpg");
            }
            if (c.get("has_video").getAsBoolean()) {
                row.addProperty("video", DatasetRegistry.VIDEOCHATGPT_TUNE + "/v_case_" + i + ".mp4");
            }
            JsonArray conv = new JsonArray();
            for (JsonElement t : c.getAsJsonArray("turns")) {
                JsonObject turn = new JsonObject();
                turn.addProperty("from", t.getAsJsonObject().get("role").getAsString());
                turn.addProperty("value", t.getAsJsonObject().get("value").getAsString());
                conv.add(turn);
            }
            row.add("conversations", conv);
            json.append("  ").append(gson.toJson(row)).append(i + 1 < cases.size() ? ",\n" : "\n");
        }
        json.append("]\n");
        Path dir = tmp.resolve("videollava");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(DatasetRegistry.FINETUNE_JSON), json.toString(), StandardCharsets.UTF_8);
        dataset = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(dir, Stage.FINETUNE));
    }

    @AfterAll
    static void close() throws Exception {
        for (ReferenceTextPipeline p : PIPELINES.values()) {
            if (p.tokenizer() instanceof AutoCloseable c) {
                c.close();
            }
        }
        PIPELINES.clear();
        if (dataset != null) {
            dataset.close();
        }
    }

    /** The registry id whose prompt format the fixture family names. */
    static String llmId(String family) {
        switch (family) {
            case "llama2-pure": return "llama2-7b-pure";
            case "vicuna-v15": return "vicuna-v15-7b";
            case "llama2-chat": return "llama2-7b-chat";
            case "llama3.1": return "llama3.1-8b-chat";
            case "qwen2.5": return "qwen2.5-7b-instruct";
            default: throw new AssertionError("unknown family in prompts fixture: " + family);
        }
    }

    /** The tokenizer folder the fixture names: the Llama-2 one bundled in merv-llm, the others in our test resources. */
    static Path tokenizerDir(String name) {
        if (name.equals(BundledTokenizers.LLAMA2)) {
            return BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, tmp.resolve("tokenizers").resolve(name));
        }
        URL url = PromptsFixtureTest.class.getClassLoader().getResource("tokenizers/" + name + "/tokenizer.json.gz");
        if (url == null) {
            throw new AssertionError("test resource tokenizers/" + name + "/tokenizer.json.gz is missing");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static synchronized ReferenceTextPipeline pipeline(String family, String tokenizer) {
        return PIPELINES.computeIfAbsent(family + "/" + tokenizer,
                k -> LlmRegistry.text(llmId(family), tokenizerDir(tokenizer), LlmRegistry.Options.PARITY));
    }

    static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("allCases")
    void dataPathRendersTokenisesAndMasksAsTheReference(String name, int index) throws Exception {
        JsonObject c = cases.get(index).getAsJsonObject();
        ReferenceTextPipeline p = pipeline(c.get("family").getAsString(), c.get("tokenizer").getAsString());
        boolean media = c.get("has_image").getAsBoolean() || c.get("has_video").getAsBoolean();

        Entry entry = dataset.entry(index);
        assertThat(entry.hasMedia()).as("%s: row has media", name).isEqualTo(media);
        assertThat(entry.isImage()).as("%s: is_image", name).isEqualTo(c.get("has_image").getAsBoolean());
        assertThat(dataset.multimodal(index)).as("%s: sampler's modality flag", name).isEqualTo(media);

        JsonArray turnsJson = c.getAsJsonArray("turns");
        assertThat(entry.turns()).as("%s: parsed turns", name).hasSize(turnsJson.size());
        List<String> rendered = p.renderTurns(entry.turns());
        List<long[]> perTurn = p.encodeTurns(entry.turns());
        for (int i = 0; i < turnsJson.size(); i++) {
            JsonObject t = turnsJson.get(i).getAsJsonObject();
            assertThat(entry.turns().get(i).value()).as("%s turn %d value after JSON round trip", name, i)
                    .isEqualTo(t.get("value").getAsString());
            assertThat(rendered.get(i).replaceAll("\\s+$", "")).as("%s turn %d message", name, i)
                    .isEqualTo(t.get("message").getAsString());
            assertThat(t.get("add_special_tokens").getAsBoolean()).as("%s: fixture special-token rule", name).isEqualTo(i == 0);
            assertThat(perTurn.get(i)).as("%s turn %d ids (DJL tokenizer)", name, i)
                    .containsExactly(longs(t.getAsJsonArray("input_ids")));
        }

        SampleText text = new SampleText(p, dataset.stage(), MAX_LENGTH);
        EncodedText enc = text.encode(entry);
        long[] wantIds = longs(c.getAsJsonArray("input_ids"));
        long[] wantLabels = longs(c.getAsJsonArray("labels"));
        assertThat(enc.ids()).as("%s input_ids", name).containsExactly(wantIds);
        assertThat(enc.labels()).as("%s labels", name).containsExactly(wantLabels);
        if (media) {
            assertThat(enc.labels()[0]).as("%s: labels[0] of a media row", name).isEqualTo(MervBatch.IGNORE_INDEX);
        }
        assertThat(text.truncatedRows()).as("%s: not truncated", name).isZero();
        // the token-length measure the TOKENS sampler uses sees the same encoding
        assertThat(LengthMeasure.tokens(text).lengths(dataset)[index]).as("%s: sampler token length", name)
                .isEqualTo(wantIds.length);
    }
}
