package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * What the LLM receives for one micro-batch after the reference's splice (docs/reference.md §4.6).
 *
 * @param embeddings {@code [B, T + L, D]}: multimodal rows {@code [BOS][L visual][rest]}, then text-only
 *     rows {@code [text][L zero vectors]}; {@code [B, T, D]} when no row is multimodal
 * @param attentionMask {@code [B, T + L]}, the batch mask's dtype; visual positions true, text-only padding false
 * @param labels {@code [B, T + L]} int64, -100 at visual and padding positions
 * @param rowOrder fused row {@code i} is batch row {@code rowOrder[i]} (multimodal rows first)
 * @param visualTokens L, 0 when no row is multimodal
 * @param mixingWeights {@code [B_mm, E]} per multimodal row (in {@code rowOrder}), null without weights
 * @param intermediates debugging views when {@link Merv.Options#keepIntermediates} is on ({@code
 *     video_features_i [B_mm, T', N, C]}, {@code projected_i}, {@code fused}); empty otherwise
 * @param maskLayout the batch's mask layout, which the splice keeps (visual tokens are real and go after
 *     the first real token, text-only rows get padding at the end)
 */
public record SplicedInputs(NDArray embeddings, NDArray attentionMask, NDArray labels, int[] rowOrder,
        int visualTokens, NDArray mixingWeights, Map<String, NDArray> intermediates, MaskLayout maskLayout) {}
