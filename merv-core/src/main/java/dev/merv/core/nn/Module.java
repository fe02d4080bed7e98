package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * A tree of named parameters and child modules, PyTorch style: paths are joined with '.' so that a
 * model built to mirror an upstream module has exactly the upstream {@code state_dict()} names, and
 * each family's weight table maps checkpoint names to these paths explicitly.
 *
 * <p>Subclasses declare their parameters and children in the constructor with {@link #param} and
 * {@link #child}, and write their forward pass as ordinary methods.
 */
public abstract class Module {

    private final Map<String, Param> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    protected Param param(String name, long... shape) {
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
        }
        Param p = new Param(name, shape);
        params.put(name, p);
        return p;
    }

    protected <M extends Module> M child(String name, M module) {
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
        }
        children.put(name, module);
        return module;
    }

    /** Removes a child added with {@link #child} (e.g. an adapter taken off a layer); returns it, or null. */
    protected Module removeChild(String name) {
        return children.remove(name);
    }

    public Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    public Map<String, Param> localParams() {
        return Collections.unmodifiableMap(params);
    }

    /** Every parameter below this module by its dotted path, in declaration order. */
    public Map<String, Param> namedParameters() {
        Map<String, Param> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Param> out) {
        params.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, c) -> c.collect(prefix + n + ".", out));
    }

    /** Marks every parameter trainable or frozen. */
    public void setTrainable(boolean trainable) {
        namedParameters().values().forEach(p -> p.setTrainable(trainable));
    }

    public void setTrainable(boolean trainable, Predicate<String> path) {
        namedParameters().forEach((n, p) -> {
            if (path.test(n)) {
                p.setTrainable(trainable);
            }
        });
    }

    public long parameterCount() {
        return namedParameters().values().stream().mapToLong(Param::numel).sum();
    }

    public long trainableParameterCount() {
        return namedParameters().values().stream().filter(Param::trainable).mapToLong(Param::numel).sum();
    }

    /** Casts every floating-point parameter to {@code dtype} in {@code manager} (bridged, bf16 safe). */
    public void castTo(ScalarType dtype, NDManager manager) {
        for (Param p : namedParameters().values()) {
            if (!p.isSet()) {
                continue;
            }
            NDArray v = p.get();
            if (Torch.dtype(v).isFloating() && Torch.dtype(v) != dtype) {
                NDArray c;
                try (var ng = Torch.noGrad()) {
                    c = Torch.copy(v, dtype);
                }
                c.attach(manager);
                p.set(c);
            }
        }
    }

    /** Initialises every parameter that has no value yet. */
    public void initializeMissing(BiConsumer<String, Param> init) {
        namedParameters().forEach((n, p) -> {
            if (!p.isSet()) {
                init.accept(n, p);
            }
        });
    }
}
