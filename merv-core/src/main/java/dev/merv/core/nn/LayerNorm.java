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
        NDArray w = asFloat(weight.get(), xf);
        NDArray b = bias == null ? xf.getManager().zeros(new Shape(dim)) : asFloat(bias.get(), xf);
        NDArray y = ai.djl.nn.norm.LayerNorm.layerNorm(xf, new Shape(dim), w, b, eps).singletonOrThrow();
        return in == ScalarType.FLOAT32 ? y : Torch.to(y, in);
    }

    /**
     * The parameter in fp32 for this forward. A cast would belong to the parameter's long-lived manager
     * (one new array per call, never freed), so it goes to the input's manager, which the caller scopes.
     */
    private static NDArray asFloat(NDArray p, NDArray like) {
        if (Torch.dtype(p) == ScalarType.FLOAT32) {
            return p;
        }
        NDArray f = Torch.to(p, ScalarType.FLOAT32);
        f.attach(like.getManager());
        return f;
    }

    public Param weight() {
        return weight;
    }

    public Param bias() {
        return bias;
    }
}
