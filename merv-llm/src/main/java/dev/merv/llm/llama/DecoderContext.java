package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.nn.RotaryEmbedding;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * What every layer of one forward shares: rotary tables for the positions, the boolean attention mask
 * (causal and key padding) or the plain causal flag, and the KV cache. Owns its arrays; closing it
 * also advances the cache past this forward's positions.
 *
 * <p>Masking follows HF's SDPA path: a query may attend key {@code j} iff {@code j <= its position}
 * and the key is a real token. When the caller knows the mask is a prefix of real tokens per row
 * ({@link MaskLayout#PREFIX}, right-padded training batches) or has no padding ({@link MaskLayout#NONE}) and
 * there is no cache, the causal rule alone gives every real token the same keys, so no mask is built or read:
 * SDPA keeps its flash / memory-efficient kernels, grouped-query heads included. Otherwise the mask is read
 * once per forward to see whether it has any padding at all. A query row with no allowed key (a left-padding position) is unmasked
 * entirely, as HF's {@code AttentionMaskConverter._unmask_unattended} does, so that no NaN arises; those
 * positions' outputs are never used. (HF's eager path gives such rows uniform weights instead; either
 * way the real tokens' outputs are unaffected.)
 */
final class DecoderContext implements LanguageModel.LayerContext {

    final NDManager manager;
    final NDArray cos;
    final NDArray sin;
    /** {@code [B, 1, T, past + T]} bool, or null when {@link #causal} alone describes the mask. */
    final NDArray mask;
    final boolean causal;
    final DecoderKvCache cache;
    final int seqLen;
    /** This forward's serial number within its model (one per {@code prepare}). */
    final long serial;
    private final NDArray fullKeyMask;
    private boolean closed;

    DecoderContext(NDManager parent, RotaryEmbedding rope, NDArray invFreq, ScalarType dtype, NDArray attentionMask,
            NDArray positions, DecoderKvCache cache, int batch, int seqLen, MaskLayout layout, long serial) {
        this.manager = parent.newSubManager();
        this.serial = serial;
        this.cache = cache;
        this.seqLen = seqLen;
        int past = cache == null ? 0 : cache.length();
        int total = past + seqLen;
        NDArray pos = positions;
        if (pos == null) {
            pos = manager.arange((long) past, (long) total, 1L, DataType.INT64).expandDims(0)
                    .broadcast(new Shape(batch, seqLen));
        } else if (pos.getShape().dimension() == 1) {
            pos = pos.expandDims(0).broadcast(new Shape(batch, seqLen));
        }
        NDArray[] cs = rope.cosSin(pos, invFreq, dtype, manager);
        cos = cs[0];
        sin = cs[1];
        if (cache == null && (layout == MaskLayout.PREFIX || layout == MaskLayout.NONE)) {
            fullKeyMask = null;
            mask = null;
            causal = seqLen > 1;
            return;
        }

        NDArray keyMask = null;
        if (attentionMask != null) {
            // a cast, not neq(0): DJL's scalar comparison copies its 0 from the host
            NDArray m = attentionMask.getDataType() == DataType.BOOLEAN ? attentionMask : Torch.to(attentionMask, ScalarType.BOOL);
            m = m.duplicate();
            m.attach(manager);
            long width = m.getShape().get(1);
            if (width == total) {
                keyMask = m;
            } else if (width == seqLen && past > 0) {
                NDArray prev = cache.keyMask() == null ? manager.ones(new Shape(batch, past), DataType.BOOLEAN)
                        : cache.keyMask();
                keyMask = prev.concat(m, 1);
            } else {
                throw new IllegalArgumentException("attention mask width " + width + " fits neither the new positions ("
                        + seqLen + ") nor all positions (" + total + ")");
            }
        } else if (cache != null && cache.keyMask() != null) {
            keyMask = cache.keyMask().concat(manager.ones(new Shape(batch, seqLen), DataType.BOOLEAN), 1);
        }
        if (keyMask != null && !keyMask.getShape().equals(new Shape(batch, total))) {
            throw new IllegalArgumentException("attention mask shape " + keyMask.getShape() + ", expected "
                    + new Shape(batch, total));
        }
        boolean allReal = keyMask == null || layout == MaskLayout.NONE || keyMask.all().getBoolean();
        fullKeyMask = allReal ? null : keyMask;
        if (allReal && (past == 0 || seqLen == 1)) {
            mask = null;
            causal = seqLen > 1;
        } else {
            NDArray q = manager.arange((long) past, (long) total, 1L, DataType.INT64).reshape(seqLen, 1);
            NDArray k = manager.arange(0L, (long) total, 1L, DataType.INT64).reshape(1, total);
            NDArray allowed = k.lte(q).reshape(1, 1, seqLen, total);
            if (!allReal) {
                allowed = allowed.logicalAnd(keyMask.reshape(batch, 1, 1, total));
            }
            NDArray none = Torch.logicalNot(Torch.any(allowed, -1, true));
            mask = allowed.logicalOr(none);
            causal = false;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (cache != null) {
            cache.advance(seqLen, fullKeyMask);
        }
        manager.close();
    }
}
