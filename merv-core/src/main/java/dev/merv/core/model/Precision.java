package dev.merv.core.model;

import dev.merv.core.torch.ScalarType;
import java.util.Locale;

/**
 * The one precision setting of merv: the dtype the forward computes in. Training keeps fp32 masters,
 * AdamW moments and gradient accumulation whatever this says; {@code BF16} runs the forward on bf16
 * copies of the trainable weights and holds frozen weights (the encoders, a frozen LLM) in bf16, as the
 * reference's FSDP mixed precision does. {@code FP16} exists for inference only (the reference's Qwen2.5
 * inference autocasts to fp16, W21 in docs/parity.md); training refuses it (no loss scaling).
 */
public enum Precision {
    FP32(ScalarType.FLOAT32), BF16(ScalarType.BFLOAT16), FP16(ScalarType.FLOAT16);

    private final ScalarType compute;

    Precision(ScalarType compute) {
        this.compute = compute;
    }

    /** The forward's dtype, and the dtype frozen weights are held in. */
    public ScalarType compute() {
        return compute;
    }

    /** {@code fp32}, {@code bf16} / {@code bfloat16}, {@code fp16} / {@code float16}; fails naming the choices. */
    public static Precision parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "float" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "float16", "half" -> FP16;
            default -> throw new IllegalArgumentException("precision '" + s + "' is not one of fp32, bf16, fp16");
        };
    }

    /** The precision whose compute dtype is {@code t}. */
    public static Precision of(ScalarType t) {
        for (Precision p : values()) {
            if (p.compute == t) {
                return p;
            }
        }
        throw new IllegalArgumentException("no precision computes in " + t);
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
