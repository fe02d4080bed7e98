package dev.merv.core.testing.standin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.torch.Torch;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

/** Tiny deterministic stand-ins for an encoder and an LLM, enough to test Merv's assembly and splice. */
public final class StandIns {

    private StandIns() {}

    public static float[] randn(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        return v;
    }

    /** An encoder with a fixed layout (id, frames, T, N, C) and no frame transform; subclasses encode. */
    public abstract static class FixedLayoutEncoder implements VideoEncoder {
        public final String id;
        public final int frames;
        public final int t;
        public final int n;
        public final int c;

        protected FixedLayoutEncoder(String id, int frames, int t, int n, int c) {
            this.id = id;
            this.frames = frames;
            this.t = t;
            this.n = n;
            this.c = c;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public int numFrames() {
            return frames;
        }

        @Override
        public int temporalResolution() {
            return t;
        }

        @Override
        public int spatialResolution() {
            return n;
        }

        @Override
        public int embedDim() {
            return c;
        }

        @Override
        public FrameTransform transform() {
            return null;
        }
    }

    /** Pixels {@code [B, T, N, C]} in, {@code pixels * w} out (w a frozen [C] parameter); records each call. */
    public static final class Encoder extends FixedLayoutEncoder {
        public final Weights weights;
        public final List<Long> batchSizes = new CopyOnWriteArrayList<>();
        public final List<String> threads = new CopyOnWriteArrayList<>();

        public Encoder(String id, int frames, int t, int n, int c, NDManager m, long seed) {
            super(id, frames, t, n, c);
            this.weights = new Weights(c);
            weights.w.set(m.create(randn(new Random(seed), c, 1f)));
        }

        public static final class Weights extends Module {
            public final Param w;

            Weights(int c) {
                w = param("proj_scale", c);
            }
        }

        @Override
        public NDArray encode(NDArray pixels) {
            batchSizes.add(pixels.getShape().get(0));
            threads.add(Thread.currentThread().getName());
            if (Torch.gradEnabled()) {
                throw new AssertionError("encoders must run without autograd");
            }
            return pixels.mul(weights.w.get());
        }

        @Override
        public Module module() {
            return weights;
        }

        public NDArray pixels(NDManager m, int rows, long seed) {
            return m.create(randn(new Random(seed), rows * t * n * c, 1f), new ai.djl.ndarray.types.Shape(rows, t, n, c));
        }
    }

    /** Embedding, one causal prefix-sum + tanh "layer", untied LM head. HF-like names under its module. */
    public static final class Llm implements LanguageModel {
        public final int vocab;
        public final int dim;
        public final Weights weights;
        public final TextPipeline text;

        public Llm(int vocab, int dim, NDManager m, TextPipeline text) {
            this.vocab = vocab;
            this.dim = dim;
            this.text = text;
            this.weights = new Weights(vocab, dim);
            Random r = new Random(5);
            weights.embed.set(m.create(randn(r, vocab * dim, 1f), new ai.djl.ndarray.types.Shape(vocab, dim)));
            weights.head.set(m.create(randn(r, vocab * dim, 0.3f), new ai.djl.ndarray.types.Shape(vocab, dim)));
        }

        public static final class Weights extends Module {
            public final Param embed;
            public final Param head;

            Weights(int v, int d) {
                Module model = child("model", new Holder(v, d));
                embed = ((Holder) model).embed;
                head = param("lm_head_weight", v, d);
            }
        }

        public static final class Holder extends Module {
            public final Param embed;

            Holder(int v, int d) {
                embed = param("embed_tokens_weight", v, d);
            }
        }

        @Override
        public String id() {
            return "stand-in-llm";
        }

        @Override
        public int embedDim() {
            return dim;
        }

        @Override
        public int vocabSize() {
            return vocab;
        }

        @Override
        public int numLayers() {
            return 1;
        }

        @Override
        public NDArray embed(NDArray inputIds) {
            return Torch.embedding(weights.embed.get(), inputIds);
        }

        @Override
        public LayerContext prepare(NDArray attentionMask, NDArray positions, KvCache cache, int seqLen) {
            return () -> { };
        }

        @Override
        public NDArray layer(int index, NDArray hidden, LayerContext ctx) {
            // causal mixing (a prefix sum) so that later positions depend on the visual tokens
            try (NDArray prefix = hidden.cumSum(1); NDArray mixed = hidden.add(prefix.mul(0.5f))) {
                return Torch.tanh(mixed);
            }
        }

        @Override
        public NDArray head(NDArray hidden) {
            return Torch.linear(hidden, weights.head.get(), null);
        }

        @Override
        public KvCache newCache(int batch, int maxLen) {
            throw new UnsupportedOperationException();
        }

        @Override
        public TextPipeline text() {
            return text;
        }

        @Override
        public Module module() {
            return weights;
        }
    }
}
