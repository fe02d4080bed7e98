package dev.merv.encoders.timm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.encoders.layers.Activation;
import dev.merv.encoders.layers.Conv;
import dev.merv.encoders.layers.Mlp;
import dev.merv.encoders.layers.Scoped;
import dev.merv.encoders.layers.SelfAttention;

/**
 * timm's {@code VisionTransformer} (pre-LN blocks, fused {@code qkv}, optional LayerScale, CLS and
 * register prefix tokens, learned absolute position embeddings); parameter paths equal timm's
 * {@code state_dict()} names. Only what MERV runs is computed: patch embedding, position
 * embedding, the blocks up to a given index, and (for debugging) the final norm. The SigLIP
 * attention-pool head is not modelled: MERV never calls it, its {@code attn_pool.*} weights are
 * skipped by name at load.
 */
public final class TimmVisionTransformer extends Module {

    private final TimmVitConfig config;
    private final Param clsToken;
    private final Param regToken;
    private final Param posEmbed;
    private final Conv patchEmbed;
    private final ModuleList<Block> blocks;
    private final LayerNorm norm;

    public TimmVisionTransformer(TimmVitConfig config) {
        this.config = config;
        int d = config.embedDim();
        this.clsToken = config.classToken() ? param("cls_token", 1, 1, d) : null;
        this.regToken = config.regTokens() > 0 ? param("reg_token", 1, config.regTokens(), d) : null;
        int posLen = config.numPatches() + (config.noEmbedClass() ? 0 : config.prefixTokens());
        this.posEmbed = param("pos_embed", 1, posLen, d);
        Module pe = child("patch_embed", new PatchEmbedHolder());
        this.patchEmbed = ((PatchEmbedHolder) pe).init(config);
        this.blocks = child("blocks", new ModuleList<>());
        for (int i = 0; i < config.depth(); i++) {
            blocks.add(new Block(config));
        }
        this.norm = child("norm", new LayerNorm(d, (float) config.normEps()));
    }

    /** timm's {@code PatchEmbed} holder, so the conv sits at {@code patch_embed.proj}. */
    private static final class PatchEmbedHolder extends Module {
        Conv init(TimmVitConfig c) {
            long p = c.patchSize();
            return child("proj", Conv.patchify(3, c.embedDim(), new long[] {p, p}, true));
        }
    }

    public TimmVitConfig config() {
        return config;
    }

    public Param posEmbed() {
        return posEmbed;
    }

    public int depth() {
        return blocks.size();
    }

    /** Patch + position embedding and prefix tokens: {@code [N, 3, H, W] -> [N, prefix + patches, D]}. */
    public NDArray embed(NDArray images) {
        return Scoped.apply(images, x -> {
            NDArray p = patchEmbed.forward(x);
            long n = p.getShape().get(0);
            long d = p.getShape().get(1);
            NDArray tokens = p.reshape(n, d, -1).transpose(0, 2, 1);
            if (tokens.getShape().get(1) != config.numPatches()) {
                throw new IllegalArgumentException("timm ViT built for img_size " + config.imgSizeText() + " gets " + tokens.getShape().get(1)
                        + " patches from input " + x.getShape());
            }
            if (config.noEmbedClass()) {
                tokens = tokens.add(posEmbed.get());
                tokens = withPrefix(tokens, n, d);
            } else {
                tokens = withPrefix(tokens, n, d);
                tokens = tokens.add(posEmbed.get());
            }
            return tokens;
        });
    }

    private NDArray withPrefix(NDArray tokens, long n, long d) {
        if (config.prefixTokens() == 0) {
            return tokens;
        }
        NDList parts = new NDList();
        if (clsToken != null) {
            parts.add(Scoped.into(clsToken.get().broadcast(new Shape(n, 1, d)), tokens));
        }
        if (regToken != null) {
            parts.add(Scoped.into(regToken.get().broadcast(new Shape(n, config.regTokens(), d)), tokens));
        }
        parts.add(tokens);
        return Scoped.into(NDArrays.concat(parts, 1), tokens);
    }

    /** Runs blocks {@code 0..lastBlock} (inclusive) on embedded tokens. */
    public NDArray blocks(NDArray tokens, int lastBlock) {
        if (lastBlock < 0 || lastBlock >= blocks.size()) {
            throw new IllegalArgumentException("block index " + lastBlock + " outside 0.." + (blocks.size() - 1));
        }
        NDArray x = tokens;
        for (int i = 0; i <= lastBlock; i++) {
            Block b = blocks.get(i);
            NDArray prev = x;
            x = Scoped.apply(x, b::forward);
            if (prev != tokens) {
                prev.close();
            }
        }
        return x;
    }

    /** timm {@code forward_features}: all blocks and the final norm (debugging / non-MERV uses). */
    public NDArray forwardFeatures(NDArray images) {
        NDArray x = blocks(embed(images), blocks.size() - 1);
        return Scoped.apply(x, norm::forward);
    }

    /** timm ViT {@code Block}: {@code x + ls1(attn(norm1(x)))}, {@code x + ls2(mlp(norm2(x)))}. */
    public static final class Block extends Module {
        private final LayerNorm norm1;
        private final Attention attn;
        private final Param ls1;
        private final LayerNorm norm2;
        private final Mlp mlp;
        private final Param ls2;

        Block(TimmVitConfig c) {
            int d = c.embedDim();
            norm1 = child("norm1", new LayerNorm(d, (float) c.normEps()));
            attn = child("attn", new Attention(d, c.numHeads()));
            ls1 = c.initValues() != null ? child("ls1", new LayerScale(d)).gamma : null;
            norm2 = child("norm2", new LayerNorm(d, (float) c.normEps()));
            mlp = child("mlp", new Mlp(d, c.mlpHiddenDim(), d, Activation.GELU));
            ls2 = c.initValues() != null ? child("ls2", new LayerScale(d)).gamma : null;
        }

        NDArray forward(NDArray x) {
            NDArray a = attn.forward(norm1.forward(x));
            if (ls1 != null) {
                a = a.mul(ls1.get());
            }
            NDArray h = x.add(a);
            NDArray m = mlp.forward(norm2.forward(h));
            if (ls2 != null) {
                m = m.mul(ls2.get());
            }
            return h.add(m);
        }
    }

    /** timm {@code LayerScale}: a per-channel {@code gamma}. */
    static final class LayerScale extends Module {
        final Param gamma;

        LayerScale(int d) {
            gamma = param("gamma", d);
        }
    }

    /** timm {@code Attention} with a fused {@code qkv} projection and {@code proj}. */
    static final class Attention extends Module {
        private final Linear qkv;
        private final Linear proj;
        private final int heads;

        Attention(int d, int heads) {
            this.heads = heads;
            qkv = child("qkv", new Linear(d, 3 * d, true));
            proj = child("proj", new Linear(d, d, true));
        }

        NDArray forward(NDArray x) {
            long b = x.getShape().get(0);
            long n = x.getShape().get(1);
            long d = x.getShape().get(2);
            NDArray qkvOut = qkv.forward(x).reshape(b, n, 3, d);
            NDArray q = qkvOut.get(":, :, 0, :");
            NDArray k = qkvOut.get(":, :, 1, :");
            NDArray v = qkvOut.get(":, :, 2, :");
            return proj.forward(SelfAttention.attend(q, k, v, heads));
        }
    }

    /** Unused by MERV but part of timm's module; kept so paths match. */
    public LayerNorm norm() {
        return norm;
    }
}
