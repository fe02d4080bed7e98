package dev.merv.core.testing.standin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.nn.Embedding;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.core.nn.RmsNorm;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.LossSum;
import dev.merv.core.train.TrainableModel;
import java.util.Map;
import java.util.Random;

/**
 * A stand-in for MERV in trainer tests and the bench: a tiny pre-norm causal transformer
 * (embedding, layers of RMSNorm + SDPA attention + RMSNorm + SiLU MLP with biases, final norm, LM
 * head) with a summed shifted cross-entropy, built from core.nn blocks. An optional frozen "encoder"
 * projection exercises freezing; {@link #poison} makes the loss NaN for the non-finite guard test.
 */
public final class TinyLm extends Module implements TrainableModel<TinyBatch> {

    public final int vocab;
    public final int dim;
    public final int heads;
    private final Embedding embed;
    private final ModuleList<Block> layers;
    private final RmsNorm norm;
    private final Linear head;
    private final Linear frozen;
    private final Param unused;
    public volatile boolean poison;

    public static final class Block extends Module {
        final RmsNorm n1;
        final Linear q;
        final Linear k;
        final Linear v;
        final Linear o;
        final RmsNorm n2;
        final Linear up;
        final Linear down;
        final int heads;

        Block(int dim, int hidden, int heads) {
            this.heads = heads;
            n1 = child("input_layernorm", new RmsNorm(dim, 1e-5f));
            q = child("q_proj", new Linear(dim, dim, false));
            k = child("k_proj", new Linear(dim, dim, false));
            v = child("v_proj", new Linear(dim, dim, false));
            o = child("o_proj", new Linear(dim, dim, false));
            n2 = child("post_attention_layernorm", new RmsNorm(dim, 1e-5f));
            up = child("up_proj", new Linear(dim, hidden, true));
            down = child("down_proj", new Linear(hidden, dim, true));
        }

        NDArray forward(NDArray h) {
            long b = h.getShape().get(0);
            long t = h.getShape().get(1);
            long d = h.getShape().get(2);
            NDArray x = n1.forward(h);
            NDArray qh = Torch.transpose(q.forward(x).reshape(b, t, heads, d / heads), 1, 2);
            NDArray kh = Torch.transpose(k.forward(x).reshape(b, t, heads, d / heads), 1, 2);
            NDArray vh = Torch.transpose(v.forward(x).reshape(b, t, heads, d / heads), 1, 2);
            NDArray a = Torch.transpose(Torch.sdpa(qh, kh, vh, null, true), 1, 2).reshape(b, t, d);
            NDArray h1 = h.add(o.forward(a));
            NDArray m = down.forward(Torch.silu(up.forward(n2.forward(h1))));
            return h1.add(m);
        }
    }

    public TinyLm(int vocab, int dim, int nLayers, int heads, int hidden) {
        this.vocab = vocab;
        this.dim = dim;
        this.heads = heads;
        embed = child("embed_tokens", new Embedding(vocab, dim));
        frozen = child("frozen_encoder", new Linear(dim, dim, true));
        layers = child("layers", new ModuleList<>());
        for (int i = 0; i < nLayers; i++) {
            layers.add(new Block(dim, hidden, heads));
        }
        norm = child("norm", new RmsNorm(dim, 1e-5f));
        head = child("lm_head", new Linear(dim, vocab, false));
        unused = param("unused_weight", dim, dim);
    }

    /** Deterministic init: N(0, 1/fan_in) matrices, 1 + 0.1 N norms, 0.1 N biases; the frozen projection frozen. */
    public TinyLm init(long seed, NDManager manager) {
        for (Map.Entry<String, Param> e : namedParameters().entrySet()) {
            Random rnd = new Random(seed * 31 + e.getKey().hashCode());
            long[] shape = e.getValue().shape().getShape();
            int n = (int) e.getValue().numel();
            float[] data = new float[n];
            boolean isNorm = e.getKey().endsWith("norm.weight");
            double std = shape.length >= 2 ? 1.0 / Math.sqrt(shape[shape.length - 1]) : 0.1;
            for (int i = 0; i < n; i++) {
                data[i] = (float) ((isNorm ? 1.0 : 0.0) + std * rnd.nextGaussian());
            }
            e.getValue().set(manager.create(data, new Shape(shape)));
        }
        frozen.setTrainable(false);
        return this;
    }

    @Override
    public Map<String, Param> parameters() {
        return namedParameters();
    }

    private NDArray embedAll(TinyBatch b) {
        NDArray e = embed.forward(b.ids());
        // the frozen part runs without autograd, like MERV's encoders
        NDArray enc;
        try (var ng = Torch.noGrad()) {
            enc = frozen.forward(e.stopGradient());
        }
        return e.add(enc.mul(0.1f));
    }

    private LossSum loss(NDArray h, TinyBatch b) {
        NDArray logits = head.forward(norm.forward(h));
        long bs = logits.getShape().get(0);
        long t = logits.getShape().get(1);
        NDArray shifted = logits.get(":, :-1, :").reshape(bs * (t - 1), vocab);
        NDArray target = b.labels().get(":, 1:").reshape(bs * (t - 1));
        NDArray ce = Torch.crossEntropy(Torch.to(shifted, dev.merv.core.torch.ScalarType.FLOAT32), target,
                Torch.Reduction.SUM, -100);
        if (poison) {
            ce = ce.mul(Float.NaN);
        }
        return new LossSum(ce, b.supervisedTokens());
    }

    @Override
    public LossSum forward(TinyBatch b) {
        NDArray h = embedAll(b);
        for (Block blk : layers.items()) {
            h = blk.forward(h);
        }
        return loss(h, b);
    }

    @Override
    public Layered<TinyBatch> layered() {
        return new Layered<>() {
            @Override
            public Prefix prefix(TinyBatch batch) {
                return new Prefix(embedAll(batch), () -> { });
            }

            @Override
            public int numLayers() {
                return layers.size();
            }

            @Override
            public NDArray layer(int index, NDArray hidden, LanguageModel.LayerContext ctx) {
                return layers.get(index).forward(hidden);
            }

            @Override
            public int layerOf(String name) {
                return Layered.layerIndex("layers.", name);
            }

            @Override
            public LossSum head(NDArray hidden, LanguageModel.LayerContext ctx, TinyBatch batch) {
                return loss(hidden, batch);
            }
        };
    }
}
