package dev.merv.llm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * HF's causal-LM loss ({@code ForCausalLMLoss} / LlamaForCausalLM in 4.44): logits in fp32, position
 * {@code t} predicts label {@code t + 1}, cross-entropy averaged over every target that is not -100 in the
 * batch.
 */
public final class CausalLmLoss {

    public static final long IGNORE_INDEX = -100;

    private CausalLmLoss() {}

    /** Mean loss of {@code logits [B, T, V]} against {@code labels [B, T]} int64. */
    public static NDArray mean(NDArray logits, NDArray labels) {
        return compute(logits, labels, Torch.Reduction.MEAN);
    }

    /** Summed loss (for token-weighted accumulation across micro-batches). */
    public static NDArray sum(NDArray logits, NDArray labels) {
        return compute(logits, labels, Torch.Reduction.SUM);
    }

    private static NDArray compute(NDArray logits, NDArray labels, Torch.Reduction reduction) {
        long v = logits.getShape().get(2);
        NDArray lf = Torch.to(logits, ScalarType.FLOAT32);
        NDArray shifted = lf.get(new NDIndex(":, :-1, :")).reshape(-1, v);
        NDArray targets = labels.get(new NDIndex(":, 1:")).reshape(-1);
        return Torch.crossEntropy(shifted, targets, reduction, IGNORE_INDEX);
    }
}
