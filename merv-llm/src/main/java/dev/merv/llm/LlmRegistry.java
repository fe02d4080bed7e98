package dev.merv.llm;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.llm.prompt.PromptFormat;
import dev.merv.llm.prompt.PromptQuirks;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import dev.merv.llm.qwen2.Qwen2;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The reference's LLM ids mapped to decoder preset, prompt format and tokenizer set-up (merv-reference.md
 * §4.1), and the loaders that put them together.
 *
 * <p>Quirks reproduced by default (each with its fix as an option): {@code llama3-8b-chat} uses the LLaMa-2 chat
 * template (W20); Qwen2.5's pad id is 128004 (W5, fix: {@link Options#qwenOwnPad}); Qwen2.5 inference runs
 * in fp16 (W21, recorded in {@link LlmSpec#inferenceDtype}).
 */
public final class LlmRegistry {

    private static final Map<String, LlmSpec> SPECS;

    static {
        Map<String, LlmSpec> m = new LinkedHashMap<>();
        PadToken addPad = PadToken.add("<PAD>");
        llama(m, "llama2-7b-pure", PromptFormat.PURE, addPad, 64);
        llama(m, "llama2-13b-pure", PromptFormat.PURE, addPad, 64);
        llama(m, "llama2-7b-chat", PromptFormat.LLAMA2_CHAT, addPad, 64);
        llama(m, "llama2-13b-chat", PromptFormat.LLAMA2_CHAT, addPad, 64);
        llama(m, "vicuna-v15-7b", PromptFormat.VICUNA_V15, addPad, 64);
        llama(m, "vicuna-v15-13b", PromptFormat.VICUNA_V15, addPad, 64);
        llama(m, "llama3-8b-pure", PromptFormat.PURE, addPad, 64);
        llama(m, "llama3-8b-chat", PromptFormat.LLAMA2_CHAT, addPad, 64);
        llama(m, Llama.TINY_LLAMA2, PromptFormat.PURE, addPad, 64);
        llama(m, "llama3.1-8b-chat", PromptFormat.LLAMA31, PadToken.existing("<|finetune_right_pad_id|>", 128004), 0);
        for (Map.Entry<String, String> e : Qwen2.PRESET_REPOS.entrySet()) {
            m.put(e.getKey(), new LlmSpec(e.getKey(), e.getValue(), LlmSpec.Family.QWEN2, PromptFormat.QWEN2,
                    PadToken.qwenReference(), 0, ScalarType.FLOAT16));
        }
        SPECS = Collections.unmodifiableMap(m);
    }

    private static void llama(Map<String, LlmSpec> m, String id, PromptFormat f, PadToken pad, int multiple) {
        m.put(id, new LlmSpec(id, Llama.PRESET_REPOS.get(id), LlmSpec.Family.LLAMA, f, pad, multiple, ScalarType.BFLOAT16));
    }

    private LlmRegistry() {}

    /** Deviations from the reference, all off by default. */
    public record Options(boolean qwenOwnPad, PromptQuirks quirks) {
        public static final Options PARITY = new Options(false, PromptQuirks.PARITY);
    }

    public static Map<String, LlmSpec> all() {
        return SPECS;
    }

    public static LlmSpec spec(String id) {
        LlmSpec s = SPECS.get(id);
        if (s == null) {
            throw new IllegalArgumentException("unknown LLM id '" + id + "'; known: " + SPECS.keySet());
        }
        return s;
    }

    /** The preset builder of the checkpoint behind {@code id} (before any embedding resize). */
    public static Llama.Builder preset(String id) {
        LlmSpec s = spec(id);
        return s.family() == LlmSpec.Family.QWEN2 ? Qwen2.preset(id) : Llama.preset(id);
    }

    /** Parses an HF {@code config.json} with the parser of {@code id}'s family. */
    public static LlamaConfig config(String id, JsonObject json, String source) {
        return spec(id).family() == LlmSpec.Family.QWEN2 ? Qwen2.config(json, source) : Llama.config(json, source);
    }

    public static HfTokenizer tokenizer(String id, Path tokenizerDir, Options options) {
        LlmSpec s = spec(id);
        PadToken pad = s.family() == LlmSpec.Family.QWEN2 && options.qwenOwnPad() ? PadToken.qwenOwnPad() : s.pad();
        return HfTokenizer.load(tokenizerDir, pad);
    }

    public static ReferenceTextPipeline text(String id, Path tokenizerDir, Options options) {
        return new ReferenceTextPipeline(tokenizer(id, tokenizerDir, options), spec(id).prompt(), options.quirks());
    }

    /**
     * Builds {@code id} from an HF checkpoint directory (config validated first, sharded safetensors ok) and
     * its tokenizer directory (often the same directory), resizing the embeddings as the reference does when
     * it adds {@code <PAD>} (new rows {@code Normal(0, initializer_range)} seeded by {@code seed}).
     */
    public static LlamaModel fromPretrained(String id, Path weightsDir, Path tokenizerDir, ScalarType dtype,
            NDManager parent, Options options, long seed) {
        JsonObject json = ModelDirectory.readConfig(weightsDir);
        LlamaConfig cfg = config(id, json, weightsDir.resolve("config.json").toString());
        ReferenceTextPipeline text = text(id, tokenizerDir, options);
        int ckptRows = cfg.vocabSize();
        int rows = spec(id).embeddingRows(ckptRows, text.tokenizer().vocabSize());
        double std = json.has("initializer_range") ? json.get("initializer_range").getAsDouble() : 0.02;
        LlamaModel m = new LlamaModel(id, cfg.withVocabSize(rows), parent);
        try (ModelDirectory md = ModelDirectory.open(weightsDir)) {
            if (rows == ckptRows) {
                m.load(md, dtype);
            } else {
                m.loadResized(md, dtype, std, seed);
            }
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return m.withText(text);
    }

    /**
     * An empty model of {@code id}'s shape (embeddings already at the resized row count) with its text
     * pipeline, for loading a MERV checkpoint's {@code llm_backbone} into.
     */
    public static LlamaModel empty(String id, Path tokenizerDir, NDManager parent, Options options) {
        ReferenceTextPipeline text = text(id, tokenizerDir, options);
        LlamaConfig cfg = preset(id).config();
        int rows = spec(id).embeddingRows(cfg.vocabSize(), text.tokenizer().vocabSize());
        return new LlamaModel(id, cfg.withVocabSize(rows), parent).withText(text);
    }
}
