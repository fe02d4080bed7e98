package dev.merv.encoders.languagebind;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.layers.Conv;
import dev.merv.encoders.layers.Mlp;
import dev.merv.encoders.layers.Scoped;
import dev.merv.encoders.layers.SelfAttention;
import java.util.ArrayList;
import java.util.List;

/**
 * LanguageBind's video {@code CLIPVisionTransformer}: CLIP ViT embeddings and pre-LayerNorm, then
 * encoder layers that each add a temporal embedding, run temporal self-attention across the
 * frames of a group for every token position, and then the usual CLIP spatial block. Parameter paths
 * equal the HF names under {@code vision_model.} (MERV: {@code featurizer.}).
 *
 * <p>W2: frames are grouped by the config's {@code num_frames} ({@code '(b t) n d -> (b n) t d'} with
 * {@code t = num_frames}), so a 16-frame clip through the 8-frame tower is two independent groups
 * of 8 that share nothing temporally. This is reproduced by default because the released checkpoints
 * compute it; {@link #setTemporalGroup} with the clip length instead attends over the whole clip with
 * the temporal embedding linearly interpolated to that length (the W2 fix, a named option that
 * changes what the checkpoint computes).
 */
public final class LanguageBindVisionTower extends Module {

    private final LanguageBindConfig config;
    private final Embeddings embeddings;
    private final LayerNorm preLayrnorm;
    private final ModuleList<Layer> layers;
    private final LayerNorm postLayernorm;

    public LanguageBindVisionTower(LanguageBindConfig config) {
        this.config = config;
        embeddings = child("embeddings", new Embeddings(config));
        preLayrnorm = child("pre_layrnorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
        Encoder enc = child("encoder", new Encoder());
        layers = enc.layers;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new Layer(config));
        }
        postLayernorm = child("post_layernorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
    }

    private static final class Encoder extends Module {
        final ModuleList<Layer> layers = child("layers", new ModuleList<>());
    }

    public LanguageBindConfig config() {
        return config;
    }

    /**
     * Frames per temporal-attention group: the config's {@code num_frames} (parity, default) or
     * another count, whose temporal embedding is then the checkpoint's interpolated linearly
     * ({@code F.interpolate(mode='linear', align_corners=False)}) to that length.
     */
    public void setTemporalGroup(int frames) {
        if (frames <= 0) {
            throw new IllegalArgumentException("LanguageBind: temporal group must be positive, got " + frames);
        }
        for (Layer l : layers.items()) {
            l.t = frames;
        }
    }

    public int temporalGroup() {
        return layers.get(0).t;
    }

    public int numLayers() {
        return layers.size();
    }

    /** {@code [B, 3, T, S, S]} to {@code hidden_states[0]} = {@code pre_layrnorm(embeddings)}, {@code [B*T, N+1, D]}. */
    public NDArray embed(NDArray pixels) {
        return Scoped.apply(pixels, p -> {
            long[] s = p.getShape().getShape();
            NDArray frames = p.transpose(0, 2, 1, 3, 4).reshape(s[0] * s[2], s[1], s[3], s[4]);
            return preLayrnorm.forward(embeddings.forward(frames));
        });
    }

    /** Runs layer {@code index} on {@code [B*T, N+1, D]} hidden states. */
    public NDArray layer(int index, NDArray hidden) {
        return Scoped.apply(hidden, layers.get(index)::forward);
    }

    /** {@code hidden_states[0..upTo]} (each {@code [B*T, N+1, D]}); index i > 0 is the output of layer i-1. */
    public List<NDArray> hiddenStates(NDArray pixels, int upTo) {
        List<NDArray> out = new ArrayList<>();
        NDArray h = embed(pixels);
        out.add(h);
        for (int i = 0; i < upTo; i++) {
            h = layer(i, h);
            out.add(h);
        }
        return out;
    }

    /** {@code post_layernorm} of the class token, averaged over the frames: {@code [B, D]} (debug only). */
    public NDArray pooled(NDArray lastHidden, long batch) {
        return Scoped.apply(lastHidden, h -> {
            NDArray cls = postLayernorm.forward(h.get(":, 0, :"));
            return cls.reshape(batch, -1, cls.getShape().get(1)).mean(new int[] {1});
        });
    }

    /** CLIP vision embeddings: conv patches (no bias), class embedding first, learned positions. */
    static final class Embeddings extends Module {
        private final Param classEmbedding;
        private final Conv patchEmbedding;
        private final PositionEmbedding positionEmbedding;

        Embeddings(LanguageBindConfig c) {
            classEmbedding = param("class_embedding", c.hiddenSize());
            long p = c.patchSize();
            patchEmbedding = child("patch_embedding", Conv.patchify(3, c.hiddenSize(), new long[] {p, p}, false));
            positionEmbedding = child("position_embedding", new PositionEmbedding(c.numPatches() + 1, c.hiddenSize()));
        }

        NDArray forward(NDArray frames) {
            NDArray p = patchEmbedding.forward(frames);
            long n = p.getShape().get(0);
            long d = p.getShape().get(1);
            NDArray tokens = p.reshape(n, d, -1).transpose(0, 2, 1);
            NDArray cls = Scoped.into(classEmbedding.get().reshape(1, 1, d), tokens).broadcast(new Shape(n, 1, d));
            NDArray all = Scoped.into(NDArrays.concat(new NDList(cls, tokens), 1), tokens);
            return all.add(positionEmbedding.weight.get());
        }
    }

    /** {@code nn.Embedding} used as a table added to every frame ({@code position_embedding.weight}). */
    static final class PositionEmbedding extends Module {
        final Param weight;

        PositionEmbedding(int n, int d) {
            weight = param("weight", n, d);
        }
    }

    /** HF {@code CLIPAttention}: separate q/k/v/out projections with bias, {@code head_dim^-0.5} scaling. */
    static final class ClipAttention extends Module {
        private final Linear q;
        private final Linear k;
        private final Linear v;
        private final Linear out;
        private final int heads;

        ClipAttention(int d, int heads) {
            this.heads = heads;
            k = child("k_proj", new Linear(d, d, true));
            v = child("v_proj", new Linear(d, d, true));
            q = child("q_proj", new Linear(d, d, true));
            out = child("out_proj", new Linear(d, d, true));
        }

        NDArray forward(NDArray x) {
            return out.forward(SelfAttention.attend(q.forward(x), k.forward(x), v.forward(x), heads));
        }
    }

    /** One encoder layer: temporal embedding + temporal attention over groups of {@code num_frames}, then CLIP's block. */
    static final class Layer extends Module {
        private final ClipAttention selfAttn;
        private final LayerNorm layerNorm1;
        private final Mlp mlp;
        private final LayerNorm layerNorm2;
        private final Param temporalEmbedding;
        private final LayerNorm temporalLayerNorm1;
        private final ClipAttention temporalAttn;
        private final int configFrames;
        private int t;

        Layer(LanguageBindConfig c) {
            int d = c.hiddenSize();
            float eps = (float) c.layerNormEps();
            selfAttn = child("self_attn", new ClipAttention(d, c.numAttentionHeads()));
            layerNorm1 = child("layer_norm1", new LayerNorm(d, eps));
            mlp = child("mlp", new Mlp(d, c.intermediateSize(), d, c.hiddenAct()));
            layerNorm2 = child("layer_norm2", new LayerNorm(d, eps));
            t = c.numFrames();
            configFrames = c.numFrames();
            if (c.addTimeAttn()) {
                temporalEmbedding = param("temporal_embedding", 1, c.numFrames(), d);
                temporalLayerNorm1 = child("temporal_layer_norm1", new LayerNorm(d, eps));
                temporalAttn = child("temporal_attn", new ClipAttention(d, c.numAttentionHeads()));
            } else {
                temporalEmbedding = null;
                temporalLayerNorm1 = null;
                temporalAttn = null;
            }
        }

        NDArray forward(NDArray x) {
            long bt = x.getShape().get(0);
            long n = x.getShape().get(1);
            long d = x.getShape().get(2);
            if (temporalAttn != null) {
                if (bt % t != 0) {
                    throw new IllegalArgumentException("LanguageBind layer: " + bt + " frames are not groups of num_frames " + t);
                }
                long groups = bt / t;
                // (b t) n d -> (b n) t d
                NDArray tokensByTime = x.reshape(groups, t, n, d).transpose(0, 2, 1, 3).reshape(groups * n, t, d);
                if (t != 1) {
                    tokensByTime = tokensByTime.add(temporalEmbedding(x));
                }
                NDArray attn = temporalAttn.forward(temporalLayerNorm1.forward(tokensByTime));
                NDArray sum = tokensByTime.add(attn);
                x = sum.reshape(groups, n, t, d).transpose(0, 2, 1, 3).reshape(bt, n, d);
            }
            NDArray h = x.add(selfAttn.forward(layerNorm1.forward(x)));
            return h.add(mlp.forward(layerNorm2.forward(h)));
        }

        /** {@code temporal_embedding[:, :t]}, or its linear interpolation to {@code t} frames when the group differs. */
        private NDArray temporalEmbedding(NDArray like) {
            NDArray e = temporalEmbedding.get();
            if (t == configFrames) {
                return e;
            }
            float[] w = new float[t * configFrames];
            float scale = (float) configFrames / t;
            for (int o = 0; o < t; o++) {
                float src = Math.max(scale * (o + 0.5f) - 0.5f, 0f);
                int i0 = Math.min((int) Math.floor(src), configFrames - 1);
                int i1 = Math.min(i0 + 1, configFrames - 1);
                float l1 = src - i0;
                w[o * configFrames + i0] += 1f - l1;
                w[o * configFrames + i1] += l1;
            }
            NDArray weights = Torch.to(dev.merv.core.torch.Transfers.upload(w, new Shape(t, configFrames),
                    dev.merv.core.torch.ScalarType.FLOAT32, like.getManager()), Torch.dtype(e)); // pinned, no device sync
            return Torch.matmul(weights, Scoped.into(e.get(0), like)).reshape(1, t, e.getShape().get(2));
        }
    }
}
