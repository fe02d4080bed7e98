package dev.merv.core.catalog;

/**
 * What an encoder id outputs, as configuration validation needs it before anything is built: features
 * {@code [B, T', N, C]} with {@code C = embedDim}, {@code N = tokensPerSlot} and
 * {@code T' = frames / framesPerSlot}.
 *
 * @param embedDim feature width C
 * @param tokensPerSlot tokens per temporal slot N (a perfect square for every id the token resamplers pool)
 * @param framesPerSlot input frames that make one temporal slot (tubelet or patch depth)
 * @param frameMultiple frame counts must be a multiple of this (LanguageBind: its temporal-attention group;
 *     Hiera: its clip length; ViViT: its {@code num_frames}, which it takes exactly: other multiples are
 *     refused when the encoder is built)
 */
public record EncoderGeometry(int embedDim, int tokensPerSlot, int framesPerSlot, int frameMultiple) {

    public EncoderGeometry {
        if (embedDim <= 0 || tokensPerSlot <= 0 || framesPerSlot <= 0 || frameMultiple <= 0) {
            throw new IllegalArgumentException("encoder geometry values must be positive: embedDim " + embedDim
                    + ", tokensPerSlot " + tokensPerSlot + ", framesPerSlot " + framesPerSlot + ", frameMultiple " + frameMultiple);
        }
    }

    /** Temporal slots produced from {@code frames} input frames. */
    public int temporalResolution(int frames) {
        return frames / framesPerSlot;
    }
}
