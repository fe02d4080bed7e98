package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * {@code torch.optim.AdamW}'s single-tensor update (the CPU default and the reference's optimizer,
 * docs/reference.md §6.2), applied to fp32 tensors in place, kernel for kernel:
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
 * floats. DJL's own AdamW puts eps inside the bias correction (docs/torch-bridge.md §2.3), which is why this
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
        // every scalar is made on the parameters' device (Torch.scalar): DJL's Number overloads would copy each
        // one from the host, a synchronisation per kernel on a GPU; the values and kernels are the same
        NDManager m = param.getManager();
        if (weightDecay != 0.0) {
            Torch.mulInPlace(param, 1.0 - lr * weightDecay);
        }
        try (NDArray w = Torch.scalar(m, 1.0 - beta1, ScalarType.FLOAT32)) {
            FlatOps.lerpInto(expAvg, grad, w);
        }
        Torch.mulInPlace(expAvgSq, beta2);
        try (NDArray c = Torch.scalar(m, 1.0 - beta2, ScalarType.FLOAT32); NDArray scaled = grad.mul(c)) {
            FlatOps.addcmulInto(expAvgSq, scaled, grad);
        }
        double bias1 = 1.0 - Math.pow(beta1, step);
        double bias2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, step));
        double stepSize = lr / bias1;
        try (NDArray denom = expAvgSq.sqrt(); NDArray b2 = Torch.scalar(m, bias2Sqrt, ScalarType.FLOAT32);
                NDArray e = Torch.scalar(m, eps, ScalarType.FLOAT32)) {
            denom.divi(b2).addi(e);
            try (NDArray s = Torch.scalar(m, -stepSize, ScalarType.FLOAT32); NDArray num = expAvg.mul(s)) {
                FlatOps.addcdivInto(param, num, denom);
            }
        }
    }
}
