package dev.merv.core.fusion;

/** Builds the {@code feature_fusion} module of a config. */
public final class Fusions {

    private Fusions() {}

    /**
     * @param tokenLength the visual feature length L every encoder produces
     * @param embedDim the cross-attention width ({@code fusion_embed_dim}, 3072 in the reference)
     */
    public static FeatureFusion build(FusionType type, int numEncoders, int llmDim, int tokenLength, int embedDim) {
        return switch (type) {
            case CROSS_ATTENTION_AVG_LQ -> new CrossAttentionFusion(numEncoders, llmDim, tokenLength, embedDim, false);
            case CROSS_ATTENTION_CLASS_KV -> new CrossAttentionFusion(numEncoders, llmDim, tokenLength, embedDim, true);
            case QUERY_MLP -> new QueryMlpFusion(numEncoders, llmDim, tokenLength, llmDim);
            case CONCAT_CHANNEL -> new ConcatChannelFusion(numEncoders, llmDim, tokenLength, false);
            case CONCAT_CHANNEL_LN -> new ConcatChannelFusion(numEncoders, llmDim, tokenLength, true);
            case SCALAR -> new ScalarFusion(numEncoders, llmDim, tokenLength);
            case FIRST -> new FirstFusion(numEncoders, llmDim, tokenLength);
        };
    }
}
