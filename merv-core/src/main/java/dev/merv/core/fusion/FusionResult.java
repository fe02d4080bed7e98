package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;

/**
 * The fused visual tokens {@code [B, L, D]} and, for the fusions that mix encoders with weights, the
 * per-sample mixing weights {@code [B, E]} (each row sums to 1; null for {@code first} and the concat
 * fusions). The trainer logs the weights (W18).
 */
public record FusionResult(NDArray tokens, NDArray weights) {}
