package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.function.UnaryOperator;

/**
 * Runs one step of a forward pass (a transformer block, an embedding) in its own sub-manager so its
 * intermediates are freed when it returns: the input is attached to the step's manager for the
 * duration, the result is moved out to the input's manager. Autograd keeps what backward needs
 * (libtorch refcounts), so this is safe with grad mode on too.
 */
public final class Scoped {

    private Scoped() {}

    public static NDArray apply(NDArray x, UnaryOperator<NDArray> step) {
        NDManager outer = x.getManager();
        try (NDManager scope = outer.newSubManager()) {
            x.tempAttach(scope);
            NDArray y = step.apply(x);
            if (y == x) {
                return y;
            }
            y.attach(outer);
            return y;
        }
    }

    /** Moves {@code y} (e.g. a result whose first operand was a parameter) into {@code like}'s manager. */
    public static NDArray into(NDArray y, NDArray like) {
        y.attach(like.getManager());
        return y;
    }
}
