package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;

/** A lookup table {@code weight [num, dim]}. */
public final class Embedding extends Module {

    private final Param weight;

    public Embedding(int num, int dim) {
        this.weight = param("weight", num, dim);
    }

    public NDArray forward(NDArray ids) {
        return Torch.embedding(weight.get(), ids);
    }

    public Param weight() {
        return weight;
    }
}
