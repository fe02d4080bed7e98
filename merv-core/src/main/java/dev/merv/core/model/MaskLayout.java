package dev.merv.core.model;

/**
 * What the host knows about a batch's attention mask without reading it back from the device, so that
 * the LLM can choose its attention form before the mask's values exist on the host.
 *
 * <p>With {@link #PREFIX} or {@link #NONE} and no KV cache, attention needs the causal rule alone: a real
 * token never sees a later position, so it never sees padding, and its output equals the masked one; the
 * padding positions' own outputs differ but are never supervised (their labels are -100). The fused
 * flash / memory-efficient kernels then stay eligible, with grouped-query heads too, where a
 * {@code [B, 1, T, T]} mask would send attention to the quadratic-memory kernel.
 */
public enum MaskLayout {
    /** Nothing known: the mask may have holes or left padding; the LLM reads it. */
    ANY,
    /** Every row is one or more real tokens from position 0, then only padding (right padding, or none). */
    PREFIX,
    /** No padding anywhere: every position is a real token. */
    NONE
}
