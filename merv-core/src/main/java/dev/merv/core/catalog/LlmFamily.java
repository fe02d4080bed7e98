package dev.merv.core.catalog;

/** The decoder families merv implements; each has its own {@code config.json} parser in {@code merv-llm}. */
public enum LlmFamily {
    /** Llama 2 / Vicuna v1.5 / Llama 3 / Llama 3.1 ({@code model_type: llama}). */
    LLAMA,
    /** Qwen2.5 ({@code model_type: qwen2}). */
    QWEN2
}
