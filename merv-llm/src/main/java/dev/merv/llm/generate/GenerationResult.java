package dev.merv.llm.generate;

import java.util.List;

/**
 * What {@link Generator} produced.
 *
 * @param tokens per row, the new tokens up to and including its stop token (no padding)
 * @param stepLogits when recorded: per step, {@code [B][V]} last-position logits (fp32); else empty
 * @param steps decoding steps run
 */
public record GenerationResult(List<long[]> tokens, List<float[][]> stepLogits, int steps) {}
