package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * What a loader hands the trainer: one padded micro-batch.
 *
 * @param inputIds {@code [B, T]} int64, right-padded
 * @param attentionMask {@code [B, T]} bool, true for real tokens (from lengths, or from {@code id != pad} in parity mode)
 * @param labels {@code [B, T]} int64, -100 where not supervised
 * @param pixels one tensor per encoder holding only the multimodal rows, in {@code multimodalIndices} order,
 *     laid out as that encoder's transform says with a leading batch axis; empty when no row is multimodal
 * @param multimodalIndices rows (ascending) that carry a video or image
 * @param isImage per row: whether its media is a still image
 * @param supervisedTokens number of label positions != -100 after the shift (for token-weighted accumulation),
 *     counted by the loader on the host; -1 when unknown (the loss then counts them from the labels, a host read)
 * @param manager owns every array above; closed with the batch
 * @param maskLayout what the loader knows about the mask's shape ({@link MaskLayout#PREFIX} lets training
 *     attention use the causal rule alone)
 * @param frozen what a frozen-feature cache supplies (then a cached encoder's pixels hold only the rows it
 *     missed); null without a cache
 */
public record MervBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
        int[] multimodalIndices, boolean[] isImage, long supervisedTokens, NDManager manager, MaskLayout maskLayout,
        FrozenFeatures frozen)
        implements AutoCloseable {

    public static final long IGNORE_INDEX = -100;

    /** A batch whose mask layout is not known ({@link MaskLayout#ANY}), without cached features. */
    public MervBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
            int[] multimodalIndices, boolean[] isImage, long supervisedTokens, NDManager manager) {
        this(inputIds, attentionMask, labels, pixels, multimodalIndices, isImage, supervisedTokens, manager, MaskLayout.ANY,
                null);
    }

    /** A batch without cached features. */
    public MervBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
            int[] multimodalIndices, boolean[] isImage, long supervisedTokens, NDManager manager, MaskLayout maskLayout) {
        this(inputIds, attentionMask, labels, pixels, multimodalIndices, isImage, supervisedTokens, manager, maskLayout, null);
    }

    public int batchSize() {
        return (int) inputIds.getShape().get(0);
    }

    public boolean hasMedia() {
        return multimodalIndices.length > 0;
    }

    @Override
    public void close() {
        manager.close();
    }
}
