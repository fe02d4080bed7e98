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
        // the bridge attaches results to the first tensor's (the weights') manager; move it to the step's
        NDArray out = Torch.embedding(weight.get(), ids);
        out.attach(ids.getManager());
        return out;
    }

    public Param weight() {
        return weight;
    }
}
