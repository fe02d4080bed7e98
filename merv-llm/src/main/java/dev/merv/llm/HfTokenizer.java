package dev.merv.llm;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.PadToken;
import dev.merv.core.text.Tokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.zip.GZIPInputStream;

/**
 * A Hugging Face fast tokenizer (DJL's Rust binding) loaded from a local {@code tokenizer.json}
 * ({@code tokenizer.json.gz} also accepted) plus {@code tokenizer_config.json}, set up the way the reference
 * sets it up for one LLM family.
 *
 * <ul>
 *   <li>No hidden truncation or padding: DJL would cut at 512 tokens by default (docs/torch-bridge.md §2.16); both
 *       are switched off, and the pipeline truncates explicitly.
 *   <li>Special tokens: whatever {@code tokenizer.json}'s post-processor adds (BOS for Llama 2/3, nothing for
 *       Qwen2.5); special-token strings in the text are recognised as their ids.
 *   <li>BOS/EOS strings come from {@code tokenizer_config.json}; ids by parsing {@code tokenizer.json}
 *       (DJL has no {@code token_to_id}).
 *   <li>Pad: see {@link PadToken}. An added {@code <PAD>} is written into the JSON handed to DJL, so that the
 *       text {@code <PAD>} encodes to it exactly as HF's {@code add_special_tokens} makes it.
 *   <li>Nothing is downloaded: {@code ai.djl.offline} is set before DJL loads its native library.
 * </ul>
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {

    static {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    private final HuggingFaceTokenizer djl;
    private final Map<String, Long> vocab;
    private final int vocabSize;
    private final String bosToken;
    private final Long bosId;
    private final String eosToken;
    private final long eosId;
    private final long padId;
    private final String source;

    private HfTokenizer(HuggingFaceTokenizer djl, Map<String, Long> vocab, int vocabSize, String bosToken, Long bosId,
            String eosToken, long eosId, long padId, String source) {
        this.djl = djl;
        this.vocab = vocab;
        this.vocabSize = vocabSize;
        this.bosToken = bosToken;
        this.bosId = bosId;
        this.eosToken = eosToken;
        this.eosId = eosId;
        this.padId = padId;
        this.source = source;
    }

    /** Loads {@code dir/tokenizer.json[.gz]} and {@code dir/tokenizer_config.json} with the given pad set-up. */
    public static HfTokenizer load(Path dir, PadToken pad) {
        Path json = dir.resolve("tokenizer.json");
        Path gz = dir.resolve("tokenizer.json.gz");
        if (!Files.exists(json) && !Files.exists(gz)) {
            throw new IllegalArgumentException(dir + " has no tokenizer.json (or tokenizer.json.gz)");
        }
        JsonObject tok;
        try (InputStream in = Files.exists(json) ? Files.newInputStream(json) : new GZIPInputStream(Files.newInputStream(gz))) {
            tok = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("reading tokenizer in " + dir, e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(dir + "/tokenizer.json: not valid JSON: " + e.getMessage(), e);
        }
        Path cfgFile = dir.resolve("tokenizer_config.json");
        JsonObject cfg = new JsonObject();
        if (Files.exists(cfgFile)) {
            try {
                cfg = JsonParser.parseString(Files.readString(cfgFile, StandardCharsets.UTF_8)).getAsJsonObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(cfgFile + ": not valid JSON: " + e.getMessage(), e);
            }
        }
        return create(tok, cfg, pad, dir.toString());
    }

    static HfTokenizer create(JsonObject tok, JsonObject cfg, PadToken pad, String source) {
        Map<String, Long> vocab = new HashMap<>();
        JsonObject model = tok.getAsJsonObject("model");
        if (model == null || !model.has("vocab")) {
            throw new IllegalArgumentException(source + "/tokenizer.json: no model.vocab");
        }
        JsonElement v = model.get("vocab");
        if (v.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : v.getAsJsonObject().entrySet()) {
                vocab.put(e.getKey(), e.getValue().getAsLong());
            }
        } else {
            // Unigram: a list of [piece, score], ids are positions
            JsonArray a = v.getAsJsonArray();
            for (int i = 0; i < a.size(); i++) {
                vocab.put(a.get(i).getAsJsonArray().get(0).getAsString(), (long) i);
            }
        }
        JsonArray added = tok.has("added_tokens") ? tok.getAsJsonArray("added_tokens") : new JsonArray();
        for (JsonElement e : added) {
            JsonObject o = e.getAsJsonObject();
            vocab.put(o.get("content").getAsString(), o.get("id").getAsLong());
        }
        long maxId = vocab.values().stream().mapToLong(Long::longValue).max().orElse(-1);

        long padId;
        switch (pad.kind()) {
            case ADD_TOKEN:
                if (vocab.containsKey(pad.token())) {
                    padId = vocab.get(pad.token());
                } else {
                    padId = maxId + 1;
                    JsonObject t = new JsonObject();
                    t.addProperty("id", padId);
                    t.addProperty("content", pad.token());
                    t.addProperty("single_word", false);
                    t.addProperty("lstrip", false);
                    t.addProperty("rstrip", false);
                    t.addProperty("normalized", false);
                    t.addProperty("special", true);
                    added.add(t);
                    tok.add("added_tokens", added);
                    vocab.put(pad.token(), padId);
                    maxId = padId;
                }
                break;
            case EXISTING:
                if (vocab.containsKey(pad.token())) {
                    padId = vocab.get(pad.token());
                } else if (pad.id() >= 0 && pad.id() <= maxId) {
                    padId = pad.id();
                } else {
                    throw new IllegalArgumentException(source + ": pad token '" + pad.token() + "' is not in the vocabulary");
                }
                break;
            case FORCED_ID:
                padId = pad.id();
                break;
            default:
                throw new AssertionError(pad.kind());
        }

        String bos = tokenString(cfg, "bos_token");
        String eos = tokenString(cfg, "eos_token");
        if (eos == null) {
            throw new IllegalArgumentException(source + "/tokenizer_config.json: field 'eos_token' is missing");
        }
        Long eosId = vocab.get(eos);
        if (eosId == null) {
            throw new IllegalArgumentException(source + ": eos_token '" + eos + "' is not in the vocabulary");
        }
        Long bosId = null;
        if (bos != null) {
            bosId = vocab.get(bos);
            if (bosId == null) {
                throw new IllegalArgumentException(source + ": bos_token '" + bos + "' is not in the vocabulary");
            }
        }
        Map<String, String> options = new HashMap<>();
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("addSpecialTokens", "true");
        HuggingFaceTokenizer djl;
        try {
            byte[] bytes = new Gson().toJson(tok).getBytes(StandardCharsets.UTF_8);
            djl = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new HfTokenizer(djl, vocab, (int) (maxId + 1), bos, bosId, eos, eosId, padId, source);
    }

    private static String tokenString(JsonObject cfg, String key) {
        JsonElement e = cfg.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonObject()) {
            return e.getAsJsonObject().get("content").getAsString();
        }
        return e.getAsString();
    }

    @Override
    public long[] encode(String text, boolean addSpecialTokens) {
        return djl.encode(text, addSpecialTokens, false).getIds();
    }

    @Override
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return djl.decode(ids, skipSpecialTokens);
    }

    @Override
    public OptionalLong bosId() {
        return bosId == null ? OptionalLong.empty() : OptionalLong.of(bosId);
    }

    @Override
    public long eosId() {
        return eosId;
    }

    @Override
    public long padId() {
        return padId;
    }

    /** The EOS token's text (the align stage appends it to captions). */
    public String eosToken() {
        return eosToken;
    }

    /** The BOS token's text, or null (Qwen2.5). */
    public String bosToken() {
        return bosToken;
    }

    @Override
    public OptionalLong tokenToId(String token) {
        Long id = vocab.get(token);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    /** Where it was loaded from. */
    public String source() {
        return source;
    }

    @Override
    public void close() {
        djl.close();
    }
}
