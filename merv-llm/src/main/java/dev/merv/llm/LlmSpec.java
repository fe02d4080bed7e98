package dev.merv.llm;

import dev.merv.core.torch.ScalarType;
import dev.merv.llm.prompt.PromptFormat;

/**
 * One row of the reference's LLM registry (merv-reference.md §4.1).
 *
 * @param id the reference id, e.g. {@code llama2-7b-pure}
 * @param hfRepo the HF checkpoint it loads
 * @param family which decoder config parser applies
 * @param prompt the prompt builder
 * @param pad the pad-token set-up
 * @param padToMultipleOf when non-zero, embeddings are resized to {@code ceil(len(tokenizer) / m) * m} rows
 * @param inferenceDtype the half dtype the reference's inference autocasts to (fp16 for Qwen: W21)
 */
public record LlmSpec(String id, String hfRepo, Family family, PromptFormat prompt, PadToken pad, int padToMultipleOf,
        ScalarType inferenceDtype) {

    /** Decoder families. */
    public enum Family { LLAMA, QWEN2 }

    /** Embedding rows after the reference's resize for a tokenizer of {@code tokenizerSize} tokens. */
    public int embeddingRows(int checkpointRows, int tokenizerSize) {
        if (padToMultipleOf <= 0) {
            return checkpointRows;
        }
        int rows = (tokenizerSize + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf;
        return Math.max(rows, checkpointRows);
    }
}
