package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;

/** timm / CLIP two-layer MLP with {@code fc1}, {@code fc2} names. */
public final class Mlp extends Module {

    private final Linear fc1;
    private final Linear fc2;
    private final Activation act;

    public Mlp(int dim, int hidden, int out, Activation act) {
        this.fc1 = child("fc1", new Linear(dim, hidden, true));
        this.fc2 = child("fc2", new Linear(hidden, out, true));
        this.act = act;
    }

    public NDArray forward(NDArray x) {
        try (NDArray h = fc1.forward(x); NDArray a = act.apply(h)) {
            return fc2.forward(a);
        }
    }
}
