package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import java.util.Set;

/** Named tensors to load from: one safetensors file or a (sharded) model directory. */
public interface WeightSource {

    Set<String> names();

    TensorInfo info(String name);

    /** Loads {@code name} converted to {@code as} (null: stored dtype), owned by {@code manager}. */
    NDArray load(String name, NDManager manager, ScalarType as);

    /** Where the tensors come from, for error messages. */
    String describe();
}
