package dev.merv.llm;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.HubRef;
import dev.merv.core.catalog.LlmEntry;
import dev.merv.core.catalog.LlmFamily;
import dev.merv.core.catalog.PadToken;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.llm.prompt.PromptQuirks;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import dev.merv.llm.qwen2.Qwen2;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds the catalog's LLM entries ({@link Catalog#llm}): the decoder from the family's config parser, the
 * tokenizer with the entry's pad set-up and embedding resize, the text pipeline with its prompt format.
 *
 * <p>Quirks reproduced by default (each with its fix as an option): {@code llama3-8b-chat} uses the LLaMa-2 chat
 * template with the base model's tokenizer (W20); Qwen2.5's pad id is 128004 (W5, fix: {@link Options#qwenOwnPad});
 * Qwen2.5 inference runs in fp16 (W21, recorded in {@link LlmEntry#inferenceDtype}).
 */
public final class LlmRegistry {

    private LlmRegistry() {}

    /** Deviations from the reference, all off by default. */
    public record Options(boolean qwenOwnPad, PromptQuirks quirks) {
        public static final Options PARITY = new Options(false, PromptQuirks.PARITY);
    }

    /** The ids merv can build from the catalog's config values (every LLM id but the golden fixtures' names). */
    public static List<String> ids() {
        return Catalog.llms().stream().filter(LlmEntry::hasConfig).map(LlmEntry::id).toList();
    }

    /** The catalog entry of {@code id}; fails naming the known ids. */
    public static LlmEntry spec(String id) {
        return Catalog.llm(id);
    }

    /** The preset builder of the checkpoint behind {@code id} (before any embedding resize). */
    public static Llama.Builder preset(String id) {
        return spec(id).family() == LlmFamily.QWEN2 ? Qwen2.preset(id) : Llama.preset(id);
    }

    /** Parses an HF {@code config.json} with the parser of {@code id}'s family. */
    public static LlamaConfig config(String id, JsonObject json, String source) {
        return spec(id).family() == LlmFamily.QWEN2 ? Qwen2.config(json, source) : Llama.config(json, source);
    }

    /**
     * Where {@code id}'s tokenizer is read from: {@code explicit} when given; else, when the entry pins a
     * tokenizer (the reference's {@code llama3-8b-*}), that repo at that revision in the HF cache; else the
     * checkpoint directory {@code weightsDir}. A pinned tokenizer missing from the cache fails naming
     * {@code repo@revision} and where it looked.
     */
    public static Path tokenizerDir(String id, Path explicit, Path weightsDir) {
        return tokenizerDir(id, explicit, weightsDir, ModelDirectory.hfCacheHub());
    }

    /** As {@link #tokenizerDir(String, Path, Path)} with an explicit HF hub cache directory. */
    public static Path tokenizerDir(String id, Path explicit, Path weightsDir, Path hub) {
        if (explicit != null) {
            return explicit;
        }
        HubRef pinned = spec(id).tokenizer();
        if (pinned == null) {
            if (weightsDir == null) {
                throw new IllegalArgumentException("LLM '" + id + "': no tokenizer directory and no weights directory given");
            }
            return weightsDir;
        }
        return ModelDirectory.findInCache(hub, pinned.repo(), pinned.revisionOrMain()).orElseThrow(() ->
                new IllegalArgumentException("LLM '" + id + "' reads its tokenizer from " + pinned + " (the revision the"
                        + " reference pins), which is not in the HF cache at " + hub.resolve("models--"
                        + pinned.repo().replace("/", "--")) + " (refs/" + pinned.revisionOrMain() + "); download it (e.g."
                        + " huggingface-cli download " + pinned.repo() + " --revision " + pinned.revisionOrMain()
                        + " tokenizer.json tokenizer_config.json) or pass a tokenizer directory"));
    }

    public static HfTokenizer tokenizer(String id, Path tokenizerDir, Options options) {
        LlmEntry s = spec(id);
        PadToken pad = s.family() == LlmFamily.QWEN2 && options.qwenOwnPad() ? PadToken.qwenOwnPad() : s.pad();
        return HfTokenizer.load(tokenizerDir, pad);
    }

    public static ReferenceTextPipeline text(String id, Path tokenizerDir, Options options) {
        return new ReferenceTextPipeline(tokenizer(id, tokenizerDir, options), spec(id).prompt(), options.quirks());
    }

    /**
     * Builds {@code id} from an HF checkpoint directory (config validated first, sharded safetensors ok) and
     * its tokenizer ({@code tokenizerDir}, or null for {@link #tokenizerDir the entry's}), resizing the
     * embeddings as the reference does when it adds {@code <PAD>} (new rows {@code Normal(0, initializer_range)}
     * seeded by {@code seed}).
     */
    public static LlamaModel fromPretrained(String id, Path weightsDir, Path tokenizerDir, ScalarType dtype,
            NDManager parent, Options options, long seed) {
        JsonObject json = ModelDirectory.readConfig(weightsDir);
        LlamaConfig cfg = config(id, json, weightsDir.resolve("config.json").toString());
        ReferenceTextPipeline text = text(id, tokenizerDir(id, tokenizerDir, weightsDir), options);
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
     * pipeline, for loading a MERV checkpoint's {@code llm_backbone} into; a null {@code tokenizerDir} means
     * the entry's pinned tokenizer.
     */
    public static LlamaModel empty(String id, Path tokenizerDir, NDManager parent, Options options) {
        ReferenceTextPipeline text = text(id, tokenizerDir(id, tokenizerDir, null), options);
        LlamaConfig cfg = preset(id).config();
        int rows = spec(id).embeddingRows(cfg.vocabSize(), text.tokenizer().vocabSize());
        return new LlamaModel(id, cfg.withVocabSize(rows), parent).withText(text);
    }
}
