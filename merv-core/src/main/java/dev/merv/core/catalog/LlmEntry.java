package dev.merv.core.catalog;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.torch.ScalarType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One LLM id of the catalog. Write entries with {@link #builder}.
 *
 * @param hub the checkpoint; null for LLMs that only exist locally (tiny ones, fixtures)
 * @param tokenizer where the tokenizer comes from when the reference pins one other than the checkpoint's
 *     own files (null: the tokenizer files beside the weights)
 * @param config the checkpoint's {@code config.json} values the decoder parser reads, in HF naming; null
 *     for a test fixture's model, whose architecture is its own {@code config.json}. {@link #config()}
 *     returns a copy
 * @param prompt the conversation template
 * @param pad the pad-token set-up
 * @param padToMultipleOf when non-zero, embeddings are resized to {@code ceil(len(tokenizer) / m) * m} rows
 * @param inferenceDtype the half dtype the reference's inference autocasts to (fp16 for Qwen2.5: W21)
 */
public record LlmEntry(String id, LlmFamily family, Provenance provenance, HubRef hub, HubRef tokenizer, JsonObject config,
        PromptFormat prompt, PadToken pad, int padToMultipleOf, ScalarType inferenceDtype) {

    /** A copy of the config values (null for a test fixture's model). */
    @Override
    public JsonObject config() {
        return config == null ? null : config.deepCopy();
    }

    /** Whether the catalog holds the architecture (every id but the test fixtures'). */
    public boolean hasConfig() {
        return config != null;
    }

    /** The hidden width ({@code hidden_size}), when the catalog holds the architecture. */
    public OptionalInt hiddenSize() {
        return config != null && config.has("hidden_size") ? OptionalInt.of(config.get("hidden_size").getAsInt())
                : OptionalInt.empty();
    }

    /** Embedding rows after the reference's resize for a tokenizer of {@code tokenizerSize} tokens. */
    public int embeddingRows(int checkpointRows, int tokenizerSize) {
        if (padToMultipleOf <= 0) {
            return checkpointRows;
        }
        int rows = (tokenizerSize + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf;
        return Math.max(rows, checkpointRows);
    }

    /** Starts an entry for {@code id}. */
    public static Builder builder(String id) {
        return new Builder(id);
    }

    /** Named-field construction of an {@link LlmEntry}; {@link #build} fails naming what is missing. */
    public static final class Builder {
        private final String id;
        private LlmFamily family;
        private Provenance provenance;
        private HubRef hub;
        private HubRef tokenizer;
        private JsonObject config;
        private PromptFormat prompt;
        private PadToken pad;
        private int padToMultipleOf;
        private ScalarType inferenceDtype;

        private Builder(String id) {
            this.id = Objects.requireNonNull(id, "id");
        }

        public Builder family(LlmFamily v) { family = v; return this; }
        public Builder provenance(Provenance v) { provenance = v; return this; }
        /** The checkpoint at {@code main}. */
        public Builder hub(String repo) { hub = HubRef.of(repo); return this; }
        /** A tokenizer pinned to {@code repo} at {@code revision}. */
        public Builder tokenizer(String repo, String revision) { tokenizer = new HubRef(repo, revision); return this; }
        /** {@code config.json} values as JSON text. */
        public Builder config(String json) { config = JsonParser.parseString(json).getAsJsonObject(); return this; }
        public Builder prompt(PromptFormat v) { prompt = v; return this; }
        public Builder pad(PadToken v) { pad = v; return this; }
        public Builder padToMultipleOf(int v) { padToMultipleOf = v; return this; }
        public Builder inferenceDtype(ScalarType v) { inferenceDtype = v; return this; }

        public LlmEntry build() {
            List<String> missing = new ArrayList<>();
            if (family == null) {
                missing.add("family");
            }
            if (provenance == null) {
                missing.add("provenance");
            }
            if (hub == null && (provenance == Provenance.REFERENCE || provenance == Provenance.MERV_EXTRA)) {
                missing.add("hub");
            }
            if (config == null && provenance != Provenance.TEST_FIXTURE) {
                missing.add("config");
            }
            if (prompt == null) {
                missing.add("prompt");
            }
            if (pad == null) {
                missing.add("pad");
            }
            if (inferenceDtype == null) {
                missing.add("inferenceDtype");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("LLM entry " + id + ": missing " + missing);
            }
            return new LlmEntry(id, family, provenance, hub, tokenizer, config, prompt, pad, padToMultipleOf, inferenceDtype);
        }
    }
}
