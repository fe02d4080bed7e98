package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * {@code torch.optim.AdamW}'s single-tensor update (the CPU default and the reference's optimizer,
 * merv-reference.md §6.2), applied to fp32 tensors in place, kernel for kernel:
 *
 * <pre>
 *   p   *= 1 - lr * wd                                  (decoupled decay, before the moments)
 *   m.lerp_(g, 1 - beta1)
 *   v   = v * beta2 + ((1 - beta2) * g) * g             (addcmul_)
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps           (eps outside the bias correction)
 *   p  += (-(lr / (1 - beta1^t)) * m) / denom           (addcdiv_)
 * </pre>
 *
 * Scalars are computed in double and rounded to fp32 by the kernels, as PyTorch does for Python
 * floats. DJL's own AdamW puts eps inside the bias correction (djl-gaps.md §2.3), which is why this
 * class exists. The caller runs it under {@code Torch.noGrad()}.
 */
public final class AdamW {

    private final double beta1;
    private final double beta2;
    private final double eps;

    public AdamW(double beta1, double beta2, double eps) {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0)) {
            throw new IllegalArgumentException("AdamW: invalid betas (" + beta1 + ", " + beta2 + ") or eps " + eps);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double eps() {
        return eps;
    }

    /**
     * One step on {@code param} with gradient {@code grad} and moments {@code expAvg}, {@code expAvgSq}
     * (all fp32, same shape), {@code step} = this tensor's step count including this one (1-based).
     */
    public void update(NDArray param, NDArray grad, NDArray expAvg, NDArray expAvgSq, double lr, double weightDecay,
            long step) {
        NDManager m = param.getManager();
        if (weightDecay != 0.0) {
            param.muli((float) (1.0 - lr * weightDecay));
        }
        try (NDArray w = m.create((float) (1.0 - beta1))) {
            FlatOps.lerpInto(expAvg, grad, w);
        }
        expAvgSq.muli((float) beta2);
        try (NDArray scaled = grad.mul((float) (1.0 - beta2))) {
            FlatOps.addcmulInto(expAvgSq, scaled, grad);
        }
        double bias1 = 1.0 - Math.pow(beta1, step);
        double bias2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, step));
        double stepSize = lr / bias1;
        try (NDArray denom = expAvgSq.sqrt()) {
            denom.divi((float) bias2Sqrt).addi((float) eps);
            try (NDArray num = expAvg.mul((float) -stepSize)) {
                FlatOps.addcdivInto(param, num, denom);
            }
        }
    }
}
