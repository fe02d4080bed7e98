package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * LayerNorm over the last axis ({@code weight}, {@code bias} names as in PyTorch). A bf16 input is
 * normalised in fp32 and cast back, as autocast does.
 */
public final class LayerNorm extends Module {

    private final Param weight;
    private final Param bias;
    private final float eps;
    private final int dim;

    public LayerNorm(int dim, float eps) {
        this(dim, eps, true);
    }

    public LayerNorm(int dim, float eps, boolean bias) {
        this.dim = dim;
        this.eps = eps;
        this.weight = param("weight", dim);
        this.bias = bias ? param("bias", dim) : null;
    }

    public NDArray forward(NDArray x) {
        ScalarType in = Torch.dtype(x);
        NDArray xf = in == ScalarType.FLOAT32 ? x : Torch.to(x, ScalarType.FLOAT32);
        NDArray w = Torch.to(weight.get(), ScalarType.FLOAT32);
        NDArray b = bias == null ? xf.getManager().zeros(new Shape(dim)) : Torch.to(bias.get(), ScalarType.FLOAT32);
        NDArray y = ai.djl.nn.norm.LayerNorm.layerNorm(xf, new Shape(dim), w, b, eps).singletonOrThrow();
        return in == ScalarType.FLOAT32 ? y : Torch.to(y, in);
    }

    public Param weight() {
        return weight;
    }

    public Param bias() {
        return bias;
    }
}
