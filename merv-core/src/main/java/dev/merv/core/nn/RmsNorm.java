package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * RMSNorm as HF Llama/Qwen2 compute it: variance in fp32, {@code x * rsqrt(mean(x^2) + eps)}, cast
 * back to the input dtype, then times {@code weight}. {@code aten::rms_norm} takes an {@code int[]}
 * that libtorch 2.7's dispatcher entry point cannot pass, so it is composed.
 */
public final class RmsNorm extends Module {

    private final Param weight;
    private final float eps;

    public RmsNorm(int dim, float eps) {
        this.weight = param("weight", dim);
        this.eps = eps;
    }

    public NDArray forward(NDArray x) {
        ScalarType in = Torch.dtype(x);
        NDArray xf = in == ScalarType.FLOAT32 ? x : Torch.to(x, ScalarType.FLOAT32);
        NDArray variance = xf.mul(xf).mean(new int[] {-1}, true);
        // the eps scalar is made on the device (DJL's add(Number) copies it from the host, a sync on a GPU)
        NDArray normed = xf.mul(Torch.rsqrt(Torch.addScalar(variance, eps)));
        NDArray back = in == ScalarType.FLOAT32 ? normed : Torch.to(normed, in);
        // activation first: bridged results belong to the first tensor's manager, which must be the step's
        return Torch.mul(back, weight.get());
    }

    public Param weight() {
        return weight;
    }

    public float eps() {
        return eps;
    }
}
