package dev.merv.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An in-memory checkpoint for loading tests: fp32 tensors by name, handed out as copies in the manager and dtype
 * the loader asks for. The map is live, so a test can remove or replace a tensor between loads.
 */
public record MapWeights(Map<String, NDArray> tensors) implements WeightSource {

    /** An empty, modifiable checkpoint. */
    public static MapWeights empty() {
        return new MapWeights(new LinkedHashMap<>());
    }

    /** Adds (or replaces) {@code name}; returns this. */
    public MapWeights put(String name, NDArray tensor) {
        tensors.put(name, tensor);
        return this;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        NDArray a = tensors.get(name);
        return new TensorInfo(name, "F32", ScalarType.FLOAT32, a.getShape().getShape(), 0, a.size() * 4);
    }

    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        NDArray a = tensors.get(name);
        NDArray c = as == null || as == ScalarType.FLOAT32 ? a.duplicate() : Torch.copy(a, as);
        c.attach(manager);
        return c;
    }

    @Override
    public String describe() {
        return "in-memory checkpoint";
    }
}
