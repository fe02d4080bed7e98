package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code y = x W^T + b} with PyTorch's {@code weight [out, in]} / {@code bias [out]} names.
 *
 * <p>An {@link Adapter} (LoRA: merv-llm's {@code dev.merv.llm.lora.Lora}) adds a term computed from the same
 * input, {@code y = x W^T + b + adapter.delta(x)}. Its modules become children of this layer, so their
 * parameters are named below it as PEFT names them ({@code q_proj.lora_A.weight}).
 */
public final class Linear extends Module {

    /** A trainable addition to a linear layer's output. */
    public interface Adapter {
        /** The adapter's modules by child name, mounted under the layer they adapt. */
        Map<String, Module> modules();

        /** The term added to the layer's output for the input {@code x}: a fresh array, closed once it is added. */
        NDArray delta(NDArray x);
    }

    private final Param weight;
    private final Param bias;
    private final int in;
    private final int out;
    private Adapter adapter;

    public Linear(int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.weight = param("weight", out, in);
        this.bias = bias ? param("bias", out) : null;
    }

    public NDArray forward(NDArray x) {
        NDArray y = Torch.linear(x, weight.get(), bias == null ? null : bias.get());
        if (adapter == null) {
            return y;
        }
        NDArray d = adapter.delta(x);
        NDArray sum = y.add(d);
        // autograd keeps what backward needs; the handles themselves are not needed past the sum
        y.close();
        d.close();
        return sum;
    }

    /** Mounts {@code a} on this layer; a layer carries at most one adapter. */
    public void adapt(Adapter a) {
        if (adapter != null) {
            throw new IllegalStateException("this linear layer already carries an adapter (" + adapter.modules().keySet()
                    + ")");
        }
        a.modules().forEach(this::child);
        adapter = a;
    }

    /** Takes the adapter off (its parameters are no longer this layer's) and returns it, or null when there was none. */
    public Adapter removeAdapter() {
        Adapter a = adapter;
        if (a != null) {
            a.modules().keySet().forEach(this::removeChild);
            adapter = null;
        }
        return a;
    }

    /** The mounted adapter, or null. */
    public Adapter adapter() {
        return adapter;
    }

    /**
     * Every parameter of an adapter mounted anywhere below {@code root}, by its path from {@code root}; empty when
     * no layer carries one.
     */
    public static Map<String, Param> adapterParameters(Module root) {
        Map<String, Param> out = new LinkedHashMap<>();
        collectAdapters(root, "", out);
        return out;
    }

    private static void collectAdapters(Module m, String prefix, Map<String, Param> out) {
        if (m instanceof Linear l && l.adapter != null) {
            for (String name : l.adapter.modules().keySet()) {
                l.children().get(name).namedParameters().forEach((n, p) -> out.put(prefix + name + "." + n, p));
            }
        }
        m.children().forEach((n, c) -> collectAdapters(c, prefix + n + ".", out));
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
