package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.RotaryEmbedding;
import dev.merv.core.torch.Torch;

/**
 * Multi-head self-attention with rotary embeddings and grouped-query heads, HF child names
 * {@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj}. Runs through the fused
 * {@code scaled_dot_product_attention} (softmax accumulated in fp32 inside the kernel); with fewer KV heads
 * its {@code enable_gqa} shares KV head {@code j} among query heads {@code j*g .. j*g+g-1}, which is HF's
 * {@code repeat_kv}.
 */
final class LlamaAttention extends Module {

    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear o;
    private final int heads;
    private final int kvHeads;
    private final int headDim;

    LlamaAttention(LlamaConfig c) {
        heads = c.numHeads();
        kvHeads = c.numKvHeads();
        headDim = c.headDim();
        q = child("q_proj", new Linear(c.hiddenSize(), heads * headDim, c.qkvBias()));
        k = child("k_proj", new Linear(c.hiddenSize(), kvHeads * headDim, c.qkvBias()));
        v = child("v_proj", new Linear(c.hiddenSize(), kvHeads * headDim, c.qkvBias()));
        o = child("o_proj", new Linear(heads * headDim, c.hiddenSize(), c.outputBias()));
    }

    NDArray forward(NDArray x, DecoderContext ctx, int layer) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray qh = Torch.transpose(q.forward(x).reshape(b, t, heads, headDim), 1, 2);
        NDArray kh = Torch.transpose(k.forward(x).reshape(b, t, kvHeads, headDim), 1, 2);
        NDArray vh = Torch.transpose(v.forward(x).reshape(b, t, kvHeads, headDim), 1, 2);
        qh = RotaryEmbedding.apply(qh, ctx.cos, ctx.sin);
        kh = RotaryEmbedding.apply(kh, ctx.cos, ctx.sin);
        if (ctx.cache != null) {
            NDArray[] kv = ctx.cache.append(layer, kh, vh);
            kh = kv[0];
            vh = kv[1];
        }
        NDArray attn = Torch.sdpa(qh, kh, vh, ctx.mask, ctx.causal, null, kvHeads != heads);
        NDArray merged = Torch.transpose(attn, 1, 2).reshape(b, t, (long) heads * headDim);
        return o.forward(merged);
    }

    Linear qProj() {
        return q;
    }

    Linear kProj() {
        return k;
    }

    Linear vProj() {
        return v;
    }

    Linear oProj() {
        return o;
    }
}
