package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.torch.Op;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * A preallocated key/value cache for incremental decoding: per layer one {@code [B, KVH, maxLen, d]}
 * buffer for keys and one for values (in the weights' dtype), written in place, plus the key padding
 * mask of every cached position. It owns its memory and frees it on {@link #close}.
 *
 * <p>Positions advance once per forward: every layer appends the same {@code T} new positions, and the
 * length moves when {@link #advance} is called by the context at the end of the forward.
 */
public final class DecoderKvCache implements LanguageModel.KvCache {

    private static final Op NARROW = Op.of("aten::narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)");

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int batch;
    private final int maxLen;
    private NDArray keyMask; // [B, length] bool, null while every cached position is real
    private int length;

    DecoderKvCache(NDManager parent, LlamaConfig config, int batch, int maxLen, ScalarType dtype) {
        this.manager = parent.newSubManager();
        this.batch = batch;
        this.maxLen = maxLen;
        int layers = config.numLayers();
        keys = new NDArray[layers];
        values = new NDArray[layers];
        Shape shape = new Shape(batch, config.numKvHeads(), maxLen, config.headDim());
        for (int i = 0; i < layers; i++) {
            NDArray z = manager.zeros(shape, DataType.FLOAT32);
            keys[i] = dtype == ScalarType.FLOAT32 ? z : Torch.copy(z, dtype);
            NDArray zv = manager.zeros(shape, DataType.FLOAT32);
            values[i] = dtype == ScalarType.FLOAT32 ? zv : Torch.copy(zv, dtype);
            if (dtype != ScalarType.FLOAT32) {
                z.close();
                zv.close();
            }
        }
    }

    @Override
    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    public int capacity() {
        return maxLen;
    }

    /**
     * Writes the new keys/values {@code [B, KVH, T, d]} of {@code layer} after the cached positions and returns
     * views of all {@code length + T} positions (valid until the next write).
     */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        long t = k.getShape().get(2);
        if (length + t > maxLen) {
            throw new IllegalStateException("KV cache full: " + length + " cached + " + t + " new > capacity " + maxLen);
        }
        if (k.getShape().get(0) != batch) {
            throw new IllegalArgumentException("KV cache was made for batch " + batch + ", got " + k.getShape().get(0));
        }
        try (NDArray ks = NARROW.call(keys[layer], 2L, (long) length, t);
                NDArray vs = NARROW.call(values[layer], 2L, (long) length, t)) {
            Torch.copyInto(ks, k);
            Torch.copyInto(vs, v);
        }
        NDArray kAll = NARROW.call(keys[layer], 2L, 0L, length + t);
        NDArray vAll = NARROW.call(values[layer], 2L, 0L, length + t);
        kAll.attach(k.getManager());
        vAll.attach(k.getManager());
        return new NDArray[] {kAll, vAll};
    }

    /** The key mask of the cached positions, or null when all of them are real tokens. */
    NDArray keyMask() {
        return keyMask;
    }

    /** Records the key mask {@code [B, length + T]} (null = all real) and moves the length by {@code t}. */
    void advance(int t, NDArray fullKeyMask) {
        if (keyMask != null) {
            keyMask.close();
            keyMask = null;
        }
        if (fullKeyMask != null) {
            keyMask = fullKeyMask.duplicate();
            keyMask.attach(manager);
        }
        length += t;
    }

    @Override
    public void close() {
        manager.close();
    }
}
