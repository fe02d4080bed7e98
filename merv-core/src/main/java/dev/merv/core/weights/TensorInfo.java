package dev.merv.core.weights;

import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;

/**
 * One tensor entry of a safetensors header: its name, dtype, shape and the byte range inside the
 * file's data section ({@code begin} inclusive, {@code end} exclusive).
 */
public record TensorInfo(String name, String dtypeName, ScalarType dtype, long[] shape, long begin, long end) {

    public Shape djlShape() {
        return new Shape(shape);
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return end - begin;
    }
}
