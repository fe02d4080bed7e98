package dev.merv.core.text;

import java.util.OptionalLong;

/** A tokenizer as the reference sets it up for one LLM family (pad handling included). */
public interface Tokenizer {

    /** Ids of {@code text}; {@code addSpecialTokens} adds what the family adds (BOS for Llama, nothing for Qwen). */
    long[] encode(String text, boolean addSpecialTokens);

    String decode(long[] ids, boolean skipSpecialTokens);

    /** BOS id, or empty when the family has none (Qwen2.5). */
    OptionalLong bosId();

    long eosId();

    long padId();

    /** The id of a single token string, if it is one token of the vocabulary (special tokens included). */
    OptionalLong tokenToId(String token);

    /** Vocabulary size including added tokens (the model's embedding rows may be larger after a resize). */
    int vocabSize();
}
