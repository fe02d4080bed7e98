package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * The causal-LM loss of merv, the one every model path uses (HF {@code LlamaForCausalLM} in
 * transformers 4.44, the reference's loss): logits upcast to fp32, position {@code t} predicts label
 * {@code t + 1}, cross-entropy over every target that is not {@link #IGNORE_INDEX}. It returns the
 * <em>sum</em> and the number of supervised targets ({@link LossSum}), so the trainer can weight
 * micro-batches by tokens (W11 fix, docs/parity.md) or by micro-batch (parity); {@link #mean} is the
 * reference's per-batch mean.
 */
public final class CausalLmLoss {

    /** Labels that are not supervised. */
    public static final long IGNORE_INDEX = -100;

    private CausalLmLoss() {}

    /**
     * Summed loss of {@code logits [B, T, V]} against {@code labels [B, T]} (int64), with autograd;
     * {@code supervisedTokens} is the count of shifted labels != -100 when the caller knows it (the
     * collator does, on the host), else pass -1 to count here (a host read of the labels).
     */
    public static LossSum sum(NDArray logits, NDArray labels, long supervisedTokens) {
        long s = logits.getShape().get(1);
        long v = logits.getShape().get(2);
        NDArray lf = Torch.to(logits, ScalarType.FLOAT32);
        try (NDArray shifted = lf.get(":, 0:" + (s - 1) + ", :"); NDArray flat = shifted.reshape(-1, v);
                NDArray target = labels.get(":, 1:" + s).reshape(-1)) {
            NDArray sum = Torch.crossEntropy(flat, target, Torch.Reduction.SUM, IGNORE_INDEX);
            if (lf != logits) {
                lf.close();
            }
            return new LossSum(sum, supervisedTokens >= 0 ? supervisedTokens : supervisedCount(labels));
        }
    }

    /** {@link #sum(NDArray, NDArray, long)} counting the supervised targets from {@code labels}. */
    public static LossSum sum(NDArray logits, NDArray labels) {
        return sum(logits, labels, -1);
    }

    /**
     * The mean over supervised targets, with autograd: {@code sum / tokens}; 0 (still with a graph) when
     * nothing is supervised, where the reference would give NaN. Uses libtorch-owned scalars, since the
     * result may be back-propagated long after this call (see the torch package's notes on DJL scalars).
     */
    public static NDArray mean(LossSum loss) {
        return loss.tokens() > 0 ? Torch.divScalar(loss.summed(), (float) loss.tokens())
                : Torch.mulScalar(loss.summed(), 0f);
    }

    /** Shifted labels != -100 of {@code labels [B, T]}. */
    public static long supervisedCount(NDArray labels) {
        long t = labels.getShape().get(1);
        long[] lab = labels.toType(DataType.INT64, false).toLongArray();
        long n = 0;
        for (int i = 0; i < lab.length; i++) {
            if (i % t != 0 && lab[i] != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }
}
