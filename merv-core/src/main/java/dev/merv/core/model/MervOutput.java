package dev.merv.core.model;

import ai.djl.ndarray.NDArray;

/**
 * One training forward.
 *
 * @param logits {@code [B, T + L, V]} in the LLM's dtype, rows in {@code inputs.rowOrder()}
 * @param loss fp32 scalar: mean shifted cross-entropy over labels != -100 (HF causal-LM loss); 0 (with a
 *     graph) when nothing is supervised
 * @param lossSum fp32 scalar: the summed cross-entropy, for token-weighted accumulation (W11)
 * @param supervisedTokens the number of shifted labels != -100
 * @param inputs the spliced LLM inputs
 */
public record MervOutput(NDArray logits, NDArray loss, NDArray lossSum, long supervisedTokens, SplicedInputs inputs) {}
