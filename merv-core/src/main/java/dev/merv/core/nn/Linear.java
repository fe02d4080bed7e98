package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;

/** {@code y = x W^T + b} with PyTorch's {@code weight [out, in]} / {@code bias [out]} names. */
public final class Linear extends Module {

    private final Param weight;
    private final Param bias;
    private final int in;
    private final int out;

    public Linear(int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.weight = param("weight", out, in);
        this.bias = bias ? param("bias", out) : null;
    }

    public NDArray forward(NDArray x) {
        return Torch.linear(x, weight.get(), bias == null ? null : bias.get());
    }

    public Param weight() {
        return weight;
    }

    public Param bias() {
        return bias;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }
}
