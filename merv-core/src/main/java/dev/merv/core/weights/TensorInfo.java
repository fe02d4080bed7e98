package dev.merv.core.weights;

import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;

/**
 * One tensor of a weights source: its name, dtype, shape and byte range. For a safetensors file the
 * range is where the bytes lie inside the data section ({@code begin} inclusive, {@code end}
 * exclusive); sources whose tensors are not one byte range of a file (torch.save views, tensors in
 * memory) give {@code [0, numel * element size)}, so {@link #byteSize()} is always the size of the
 * loaded tensor.
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
