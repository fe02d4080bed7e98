package dev.merv.core.catalog;

/**
 * The conversation templates of the reference's prompt builders, by the LLM ids that use them. The
 * builders themselves live in {@code merv-llm} ({@code PromptBuilder.of}).
 */
public enum PromptFormat {
    /** {@code In: {user}\nOut: {assistant}</s>}: llama2-*-pure, llama3-8b-pure. */
    PURE,
    /** Vicuna v1.5: vicuna-v15-*. */
    VICUNA_V15,
    /** LLaMa-2 chat: llama2-*-chat and, as the reference does (W20), llama3-8b-chat. */
    LLAMA2_CHAT,
    /** Llama 3.1 header format: llama3.1-8b-chat. */
    LLAMA31,
    /** Qwen2 ChatML: qwen2.5-*. */
    QWEN2
}
