package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What some fusions need besides the projected tokens.
 *
 * @param textQuery {@code [B, Dq]} a per-sample text summary ({@code query_mlp}); null when unused
 * @param classKeys per encoder {@code [B, D]}: class embeddings projected by that encoder's head
 *     ({@code cross_attention_classKV}); null when unused
 */
public record FusionContext(NDArray textQuery, List<NDArray> classKeys) {

    public static final FusionContext NONE = new FusionContext(null, null);
}
