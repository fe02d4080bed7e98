package dev.merv.core.train;

/**
 * {@code torch.nn.utils.clip_grad_norm_} arithmetic (docs/reference.md §6.5): with the global L2
 * norm {@code n} of all gradients (the pre-clip value is what the trainer logs), every gradient is
 * scaled by {@code max_norm / (n + 1e-6)} when that is below 1. Computed in fp32 like torch's
 * tensor arithmetic.
 */
public final class GradClip {

    private GradClip() {}

    /** The factor to multiply gradients by: 1 when {@code norm} is within {@code maxNorm}. */
    public static float coefficient(float norm, double maxNorm) {
        float coef = (float) maxNorm / (norm + 1e-6f);
        return Math.min(coef, 1f);
    }
}
