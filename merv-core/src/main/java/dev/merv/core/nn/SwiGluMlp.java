package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;

/**
 * The gated SiLU MLP of Llama and Qwen2: {@code down(silu(gate(x)) * up(x))}, with HF's child names
 * {@code gate_proj}, {@code up_proj}, {@code down_proj}.
 */
public final class SwiGluMlp extends Module {

    private final Linear gate;
    private final Linear up;
    private final Linear down;

    public SwiGluMlp(int hidden, int intermediate, boolean bias) {
        gate = child("gate_proj", new Linear(hidden, intermediate, bias));
        up = child("up_proj", new Linear(hidden, intermediate, bias));
        down = child("down_proj", new Linear(intermediate, hidden, bias));
    }

    public NDArray forward(NDArray x) {
        NDArray g = Torch.silu(gate.forward(x));
        return down.forward(Torch.mul(g, up.forward(x)));
    }

    public Linear gateProj() {
        return gate;
    }

    public Linear upProj() {
        return up;
    }

    public Linear downProj() {
        return down;
    }
}
