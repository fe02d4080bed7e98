package dev.merv.llm.prompt;

/** The reference's prompt builders, by the LLM ids that use them (merv-reference.md §4.1-4.2). */
public enum PromptFormat {
    /** {@code In: {user}\nOut: {assistant}</s>}: llama2-*-pure, llama3-8b-pure. */
    PURE,
    /** Vicuna v1.5: vicuna-v15-*. */
    VICUNA_V15,
    /** LLaMa-2 chat: llama2-*-chat and (sic, W20) llama3-8b-chat. */
    LLAMA2_CHAT,
    /** Llama 3.1 header format: llama3.1-8b-chat. */
    LLAMA31,
    /** Qwen2 ChatML: qwen2.5-*. */
    QWEN2;

    public PromptBuilder newBuilder() {
        return newBuilder(PromptQuirks.PARITY);
    }

    public PromptBuilder newBuilder(PromptQuirks quirks) {
        switch (this) {
            case PURE: return new PromptBuilder.Pure(quirks);
            case VICUNA_V15: return new PromptBuilder.VicunaV15(quirks);
            case LLAMA2_CHAT: return new PromptBuilder.Llama2Chat(quirks);
            case LLAMA31: return new PromptBuilder.Llama31();
            case QWEN2: return new PromptBuilder.Qwen2();
            default: throw new AssertionError(this);
        }
    }
}
