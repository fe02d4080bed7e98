package dev.merv.core.catalog;

/**
 * How the reference sets up an LLM's pad token.
 *
 * <ul>
 *   <li>{@link Kind#ADD_TOKEN}: Llama 2 / Vicuna / Llama 3 (8B): {@code <PAD>} is added as a special token
 *       after the vocabulary (id 32000 / 128256) and the embeddings are then resized.
 *   <li>{@link Kind#EXISTING}: Llama 3.1: the reserved {@code <|finetune_right_pad_id|>} (id 128004). Copies of
 *       the tokenizer that still call that id {@code <|reserved_special_token_2|>} are accepted by id.
 *   <li>{@link Kind#FORCED_ID}: Qwen2.5 in the reference: pad id hard-set to 128004, an ordinary Qwen token
 *       (W5: genuine occurrences of that token get masked as padding). Reproduced by default for parity;
 *       {@link #qwenOwnPad()} is the fix.
 * </ul>
 */
public record PadToken(Kind kind, String token, long id) {

    /** Which of the reference's pad set-ups. */
    public enum Kind { ADD_TOKEN, EXISTING, FORCED_ID }

    /** Appends {@code token} as a new special token after the last id. */
    public static PadToken add(String token) {
        return new PadToken(Kind.ADD_TOKEN, token, -1);
    }

    /** An existing special token, looked up by {@code token}, else by {@code id}. */
    public static PadToken existing(String token, long id) {
        return new PadToken(Kind.EXISTING, token, id);
    }

    /** A fixed id, whatever token it is (W5 parity). */
    public static PadToken forcedId(long id) {
        return new PadToken(Kind.FORCED_ID, null, id);
    }

    /** The reference's Qwen2.5 pad (W5): id 128004. */
    public static PadToken qwenReference() {
        return forcedId(128004);
    }

    /** The W5 fix for Qwen2.5: its own {@code <|endoftext|>} (151643). */
    public static PadToken qwenOwnPad() {
        return existing("<|endoftext|>", 151643);
    }
}
