package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Arrays;

/**
 * One named model parameter: its expected shape, its current value and whether it trains.
 *
 * <p>merv keeps its own parameter holder instead of DJL's {@code Parameter} because the latter
 * cannot take a loaded array once its shape is known, always auto-initialises in fp32 and has no
 * dtype cast (docs/torch-bridge.md §2.7). The value is owned by the model's manager; {@link #set} closes the
 * previous value.
 */
public final class Param {

    private final String name;
    private final long[] shape;
    private NDArray value;
    private boolean trainable = true;

    public Param(String name, long... shape) {
        this.name = name;
        this.shape = shape.clone();
    }

    public String name() {
        return name;
    }

    public Shape shape() {
        return new Shape(shape);
    }

    public boolean isSet() {
        return value != null;
    }

    /** The current value; fails with the parameter's name when it was never loaded or initialised. */
    public NDArray get() {
        if (value == null) {
            throw new IllegalStateException("parameter '" + name + "' " + Arrays.toString(shape)
                    + " has no value (not loaded and not initialised)");
        }
        return value;
    }

    /** Replaces the value (shape checked), closing the previous one unless it is the same array. */
    public void set(NDArray v) {
        if (!Arrays.equals(v.getShape().getShape(), shape)) {
            throw new IllegalArgumentException("parameter '" + name + "': shape " + v.getShape()
                    + " does not match the expected " + new Shape(shape));
        }
        if (value != null && value != v) {
            value.close();
        }
        value = v;
        if (trainable && Torch.dtype(v).isFloating()) {
            v.setRequiresGradient(true);
        }
    }

    public boolean trainable() {
        return trainable;
    }

    public void setTrainable(boolean t) {
        trainable = t;
        if (value != null && Torch.dtype(value).isFloating()) {
            value.setRequiresGradient(t);
        }
    }

    public ScalarType dtype() {
        return Torch.dtype(get());
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + (trainable ? "" : " (frozen)");
    }
}
