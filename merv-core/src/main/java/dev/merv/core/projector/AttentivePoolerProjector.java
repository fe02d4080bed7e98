package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.torch.Torch;

/**
 * {@code attntv} (the reference's {@code AttentivePooler}, from V-JEPA): per frame, {@code q}
 * learnable queries ({@code query_tokens [1, q, C]}) attend over the frame's LayerNorm-ed tokens with an
 * 8-head cross-attention ({@code cross_attn.xattn.q/kv/proj}), residual, then a pre-LN GELU MLP of
 * ratio 4 ({@code cross_attn.norm2}, {@code cross_attn.mlp.fc1/fc2}), residual; the head maps to the LLM
 * width. Output {@code [B, T * q, D]}.
 *
 * <p>Init as the reference: default Linear inits are drawn in construction order, then the query and
 * every Linear (the head's included) are re-drawn from a truncated normal (std 0.02, biases 0,
 * LayerNorms 1/0), and {@code xattn.proj.weight}, {@code mlp.fc2.weight} are divided by sqrt(2).
 */
public final class AttentivePoolerProjector extends HeadedProjector {

    static final int HEADS = 8;

    private final Param queryTokens;
    private final Block block;
    private final int queries;

    public AttentivePoolerProjector(int inDim, int llmDim, int temporalIn, int spatialIn, int queries, HeadType headType) {
        super(inDim, temporalIn, spatialIn, temporalIn, queries);
        if (inDim % HEADS != 0) {
            throw new IllegalArgumentException("attntv: encoder dim " + inDim + " is not divisible by " + HEADS + " heads");
        }
        this.queries = queries;
        this.queryTokens = param("query_tokens", 1, queries, inDim);
        this.block = child("cross_attn", new Block(inDim));
        headUnderProjector(new ProjectionHead(headType, inDim, llmDim));
    }

    /** JEPA {@code CrossAttentionBlock}. */
    static final class Block extends Module {
        final LayerNorm norm1;
        final Attention xattn;
        final LayerNorm norm2;
        final Mlp mlp;

        Block(int dim) {
            norm1 = child("norm1", new LayerNorm(dim, 1e-5f));
            xattn = child("xattn", new Attention(dim));
            norm2 = child("norm2", new LayerNorm(dim, 1e-5f));
            mlp = child("mlp", new Mlp(dim, 4 * dim));
        }
    }

    static final class Attention extends Module {
        final Linear q;
        final Linear kv;
        final Linear proj;
        final int dim;

        Attention(int dim) {
            this.dim = dim;
            q = child("q", new Linear(dim, dim, true));
            kv = child("kv", new Linear(dim, 2 * dim, true));
            proj = child("proj", new Linear(dim, dim, true));
        }

        NDArray forward(NDArray queries, NDArray x) {
            long n = queries.getShape().get(0);
            long nq = queries.getShape().get(1);
            long nk = x.getShape().get(1);
            int hd = dim / HEADS;
            try (NDArray qp = q.forward(queries);
                    NDArray qh = qp.reshape(n, nq, HEADS, hd).transpose(0, 2, 1, 3);
                    NDArray kvp = kv.forward(x);
                    NDArray kvh = kvp.reshape(n, nk, 2, HEADS, hd).transpose(2, 0, 3, 1, 4);
                    NDArray k = kvh.get(0);
                    NDArray v = kvh.get(1);
                    NDArray o = Torch.sdpa(qh, k, v, null, false);
                    NDArray merged = o.transpose(0, 2, 1, 3).reshape(n, nq, dim)) {
                return proj.forward(merged);
            }
        }
    }

    static final class Mlp extends Module {
        final Linear fc1;
        final Linear fc2;

        Mlp(int dim, int hidden) {
            fc1 = child("fc1", new Linear(dim, hidden, true));
            fc2 = child("fc2", new Linear(hidden, dim, true));
        }

        NDArray forward(NDArray x) {
            try (NDArray h = fc1.forward(x); NDArray g = Torch.gelu(h)) {
                return fc2.forward(g);
            }
        }
    }

    /** The head is per token, so it runs after the frames are concatenated (same result as per frame). */
    @Override
    NDArray resample(NDArray x, long b) {
        long n = b * temporalIn;
        try (NDArray tokens = x.reshape(n, spatialIn, inDim);
                NDArray q0 = queryTokens.get().broadcast(n, queries, inDim);
                NDArray normed = block.norm1.forward(tokens);
                NDArray y = block.xattn.forward(q0, normed);
                NDArray q1 = q0.add(y);
                NDArray n2 = block.norm2.forward(q1);
                NDArray m = block.mlp.forward(n2);
                NDArray q2 = q1.add(m)) {
            return q2.reshape(b, (long) temporalIn * queries, inDim);
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        // construction: default inits of xattn.q, kv, proj, mlp.fc1, fc2, then the head
        Linear[] blockLinears = {block.xattn.q, block.xattn.kv, block.xattn.proj, block.mlp.fc1, block.mlp.fc2};
        for (Linear l : blockLinears) {
            init.linear(l, manager);
        }
        head().initialize(init, manager);
        init.truncNormal(queryTokens, 0.02, manager);
        // self.apply(_init_weights) visits modules depth-first in registration order
        for (LayerNorm ln : new LayerNorm[] {block.norm1}) {
            ReferenceInit.constant(ln.weight(), 1f, manager);
            ReferenceInit.constant(ln.bias(), 0f, manager);
        }
        for (Linear l : new Linear[] {block.xattn.q, block.xattn.kv, block.xattn.proj}) {
            truncLinear(init, l, manager);
        }
        ReferenceInit.constant(block.norm2.weight(), 1f, manager);
        ReferenceInit.constant(block.norm2.bias(), 0f, manager);
        truncLinear(init, block.mlp.fc1, manager);
        truncLinear(init, block.mlp.fc2, manager);
        for (Linear l : head().linears()) {
            truncLinear(init, l, manager);
        }
        float rescale = (float) Math.sqrt(2.0);
        ReferenceInit.divide(block.xattn.proj.weight(), rescale, manager);
        ReferenceInit.divide(block.mlp.fc2.weight(), rescale, manager);
    }

    private static void truncLinear(ReferenceInit init, Linear l, NDManager manager) {
        init.truncNormal(l.weight(), 0.02, manager);
        if (l.bias() != null) {
            ReferenceInit.constant(l.bias(), 0f, manager);
        }
    }
}
