package dev.merv.core.fusion;

import java.util.Arrays;

/** The reference's {@code feature_fusion} values merv builds. */
public enum FusionType {
    /** Learnable query, one-head attention over the encoders' mean tokens, softmax weights (merv-base). */
    CROSS_ATTENTION_AVG_LQ("cross_attention_avg_lq"),
    /** As above with keys from per-encoder class embeddings (the reference's branch is broken; merv's definition). */
    CROSS_ATTENTION_CLASS_KV("cross_attention_classKV"),
    /** An MLP from a text query to E softmax weights (the reference builds it but has no forward; merv's definition). */
    QUERY_MLP("query_mlp"),
    /** Concatenate along channels, Linear(E*D, D). */
    CONCAT_CHANNEL("concat_channel"),
    /** LayerNorm(E*D), then Linear(E*D, D). */
    CONCAT_CHANNEL_LN("concat_channel_ln"),
    /** Softmax over E learnable scalars (the reference hard-codes 4; merv uses E, W20). */
    SCALAR("scalar"),
    /** Only the first encoder's tokens. */
    FIRST("first");

    private final String id;

    FusionType(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static FusionType parse(String id) {
        for (FusionType t : values()) {
            if (t.id.equals(id)) {
                return t;
            }
        }
        throw new IllegalArgumentException("model.feature_fusion='" + id + "' is not a fusion; use one of "
                + Arrays.stream(values()).map(FusionType::id).toList());
    }
}
