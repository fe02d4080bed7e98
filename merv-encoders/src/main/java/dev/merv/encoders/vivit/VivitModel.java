package dev.merv.encoders.vivit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.encoders.layers.Conv;
import dev.merv.encoders.layers.Scoped;
import dev.merv.encoders.layers.SelfAttention;

/**
 * HF {@code VivitModel} without pooler: Conv3d tubelet embedding (tokens in {@code (t, h, w)} order),
 * CLS + learned positions, pre-LN layers, final LayerNorm. Parameter paths equal HF's names (the
 * hub's {@code VivitForVideoClassification} adds a {@code vivit.} prefix).
 */
public final class VivitModel extends Module {

    private final VivitConfig config;
    private final Param clsToken;
    private final Conv projection;
    private final Param positionEmbeddings;
    private final ModuleList<Layer> layers;
    private final LayerNorm layernorm;

    public VivitModel(VivitConfig c) {
        this.config = c;
        Embeddings emb = child("embeddings", new Embeddings(c));
        clsToken = emb.cls;
        projection = emb.projection;
        positionEmbeddings = emb.pos;
        Encoder enc = child("encoder", new Encoder());
        layers = enc.layer;
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new Layer(c));
        }
        layernorm = child("layernorm", new LayerNorm(c.hiddenSize(), (float) c.layerNormEps()));
    }

    private static final class Embeddings extends Module {
        final Param cls;
        final Conv projection;
        final Param pos;

        Embeddings(VivitConfig c) {
            cls = param("cls_token", 1, 1, c.hiddenSize());
            projection = child("patch_embeddings", new PatchEmbeddings()).init(c);
            pos = param("position_embeddings", 1, c.numTubelets() + 1, c.hiddenSize());
        }
    }

    private static final class PatchEmbeddings extends Module {
        Conv init(VivitConfig c) {
            long[] t = {c.tubeletSize()[0], c.tubeletSize()[1], c.tubeletSize()[2]};
            return child("projection", Conv.patchify(c.numChannels(), c.hiddenSize(), t, true));
        }
    }

    private static final class Encoder extends Module {
        final ModuleList<Layer> layer = child("layer", new ModuleList<>());
    }

    public VivitConfig config() {
        return config;
    }

    public int numLayers() {
        return layers.size();
    }

    /** {@code [B, T, C, H, W]} to tubelet tokens {@code [B, T'*H'*W', D]} in {@code (t, h, w)} order. */
    public NDArray tubelets(NDArray pixels) {
        return Scoped.apply(pixels, p -> {
            NDArray x = projection.forward(p.transpose(0, 2, 1, 3, 4));
            long b = x.getShape().get(0);
            long d = x.getShape().get(1);
            return x.reshape(b, d, -1).transpose(0, 2, 1);
        });
    }

    /** CLS + tubelets + position embeddings. */
    public NDArray embed(NDArray tubelets) {
        return Scoped.apply(tubelets, t -> {
            long b = t.getShape().get(0);
            long d = t.getShape().get(2);
            if (t.getShape().get(1) != config.numTubelets()) {
                throw new IllegalArgumentException("ViViT built for " + config.numTubelets() + " tubelets gets " + t.getShape().get(1));
            }
            NDArray cls = Scoped.into(clsToken.get().broadcast(new Shape(b, 1, d)), t);
            NDArray all = Scoped.into(NDArrays.concat(new NDList(cls, t), 1), t);
            return all.add(positionEmbeddings.get());
        });
    }

    public NDArray layer(int i, NDArray h) {
        return Scoped.apply(h, layers.get(i)::forward);
    }

    public NDArray finalNorm(NDArray h) {
        return Scoped.apply(h, layernorm::forward);
    }

    /** {@code last_hidden_state} {@code [B, 1 + T'*H'*W', D]}. */
    public NDArray forward(NDArray pixels) {
        NDArray h = embed(tubelets(pixels));
        for (int i = 0; i < layers.size(); i++) {
            NDArray prev = h;
            h = layer(i, h);
            prev.close();
        }
        NDArray out = finalNorm(h);
        h.close();
        return out;
    }

    /** {@code VivitLayer}: pre-LN self-attention and MLP, each with a residual. */
    static final class Layer extends Module {
        private final Attention attention;
        private final Linear intermediate;
        private final Linear output;
        private final LayerNorm before;
        private final LayerNorm after;
        private final VivitConfig c;

        Layer(VivitConfig c) {
            this.c = c;
            int d = c.hiddenSize();
            attention = child("attention", new Attention(c));
            intermediate = child("intermediate", new DenseHolder()).init(d, c.intermediateSize());
            output = child("output", new DenseHolder()).init(c.intermediateSize(), d);
            before = child("layernorm_before", new LayerNorm(d, (float) c.layerNormEps()));
            after = child("layernorm_after", new LayerNorm(d, (float) c.layerNormEps()));
        }

        NDArray forward(NDArray x) {
            NDArray h = x.add(attention.forward(before.forward(x)));
            return h.add(output.forward(c.hiddenAct().apply(intermediate.forward(after.forward(h)))));
        }
    }

    /** A module holding one {@code dense} Linear ({@code intermediate.dense}, {@code output.dense}). */
    static final class DenseHolder extends Module {
        Linear init(int in, int out) {
            return child("dense", new Linear(in, out, true));
        }
    }

    /** {@code VivitAttention}: {@code attention.{query,key,value}} and {@code output.dense}. */
    static final class Attention extends Module {
        private final Linear query;
        private final Linear key;
        private final Linear value;
        private final Linear dense;
        private final int heads;

        Attention(VivitConfig c) {
            int d = c.hiddenSize();
            heads = c.numAttentionHeads();
            QkvHolder self = child("attention", new QkvHolder());
            query = self.add("query", d, c.qkvBias());
            key = self.add("key", d, c.qkvBias());
            value = self.add("value", d, c.qkvBias());
            dense = child("output", new DenseHolder()).init(d, d);
        }

        NDArray forward(NDArray x) {
            return dense.forward(SelfAttention.attend(query.forward(x), key.forward(x), value.forward(x), heads));
        }
    }

    static final class QkvHolder extends Module {
        Linear add(String name, int d, boolean bias) {
            return child(name, new Linear(d, d, bias));
        }
    }
}
