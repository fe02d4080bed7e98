package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;

/** Multi-head attention core shared by every encoder: split heads, SDPA (no mask), merge heads. */
public final class SelfAttention {

    private SelfAttention() {}

    /** {@code q, k, v} as {@code [B, N, H*hd]}; returns {@code [B, N, H*hd]}. */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, int heads) {
        long b = q.getShape().get(0);
        long n = q.getShape().get(1);
        long d = q.getShape().get(2);
        long hd = d / heads;
        NDArray qh = q.reshape(b, n, heads, hd).transpose(0, 2, 1, 3);
        NDArray kh = k.reshape(b, k.getShape().get(1), heads, hd).transpose(0, 2, 1, 3);
        NDArray vh = v.reshape(b, v.getShape().get(1), heads, hd).transpose(0, 2, 1, 3);
        NDArray o = Torch.sdpa(qh, kh, vh, null, false);
        return o.transpose(0, 2, 1, 3).reshape(b, n, d);
    }
}
