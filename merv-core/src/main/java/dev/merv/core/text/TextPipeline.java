package dev.merv.core.text;

import java.util.List;

/**
 * Conversation rendering, tokenization and label masking exactly as the reference does them for one
 * LLM family (docs/reference.md §4.2-4.4): per-turn strings from the family's prompt builder, special
 * tokens on the first turn only, only assistant replies supervised, {@code labels[0] = -100} for media
 * rows, truncation to {@code maxLength}.
 */
public interface TextPipeline {

    Tokenizer tokenizer();

    /** The per-turn message strings the reference's prompt builder returns (before the rstrip). */
    List<String> renderTurns(List<Turn> turns);

    /** Finetune-stage encoding of a whole conversation. */
    EncodedText encodeConversation(List<Turn> turns, boolean hasMedia, int maxLength);

    /** Align-stage encoding: the caption (gpt turn) + EOS with special tokens, {@code labels[0] = -100}. */
    EncodedText encodeCaption(List<Turn> turns, int maxLength);

    /** The inference prompt for one user message (system prompt and generation header included). */
    String inferencePrompt(String userMessage);
}
