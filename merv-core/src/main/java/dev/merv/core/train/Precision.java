package dev.merv.core.train;

import dev.merv.core.torch.ScalarType;

/**
 * Compute precision of the forward/backward (merv-reference.md §6.6). Masters, moments and gradient
 * accumulation are fp32 either way; {@code BF16} runs the forward on bf16 copies of the trainable
 * weights (cast through the bridge) and holds frozen weights in bf16.
 */
public enum Precision {
    FP32(ScalarType.FLOAT32), BF16(ScalarType.BFLOAT16);

    private final ScalarType compute;

    Precision(ScalarType compute) {
        this.compute = compute;
    }

    public ScalarType compute() {
        return compute;
    }
}
