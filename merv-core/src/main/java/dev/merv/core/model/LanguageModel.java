package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Module;
import dev.merv.core.text.TextPipeline;

/**
 * A decoder-only LLM, exposed layer by layer so that the trainer can recompute layers during
 * backward (store each layer's input, rerun it with autograd when its gradient is needed).
 *
 * <p>A forward pass is {@code ctx = prepare(...)}, {@code h = embed(ids)} (or spliced embeddings),
 * {@code h = layer(i, h, ctx)} for every layer, {@code logits = head(h)}.
 */
public interface LanguageModel {

    /** The reference LLM id, e.g. {@code llama2-7b-pure}. */
    String id();

    int embedDim();

    /** Rows of the embedding (after any resize), which is the logits' width. */
    int vocabSize();

    int numLayers();

    /** {@code [B, T]} int64 ids to {@code [B, T, D]} embeddings in the compute dtype. */
    NDArray embed(NDArray inputIds);

    /**
     * Per-forward state shared by every layer: rotary tables for {@code positions} ({@code [B, T]} int64,
     * null = 0..T-1 per row), the attention mask ({@code [B, T]} bool/int, 1 = attend, null = all), and an
     * optional KV cache for incremental decoding. Close it when the forward (and backward) is done.
     */
    LayerContext prepare(NDArray attentionMask, NDArray positions, KvCache cache, int seqLen);

    /**
     * {@link #prepare(NDArray, NDArray, KvCache, int)} told what the host knows of the mask ({@link MaskLayout}):
     * with {@code PREFIX} or {@code NONE} a model may skip reading the mask and attend with the causal rule
     * alone. Models that cannot use the hint ignore it.
     */
    default LayerContext prepare(NDArray attentionMask, NDArray positions, KvCache cache, int seqLen, MaskLayout layout) {
        return prepare(attentionMask, positions, cache, seqLen);
    }

    NDArray layer(int index, NDArray hidden, LayerContext ctx);

    /** Final norm and LM head: {@code [B, T, D]} to {@code [B, T, V]} logits. */
    NDArray head(NDArray hidden);

    /** Convenience: the whole forward. */
    default NDArray forward(NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, KvCache cache) {
        return forward(inputsEmbeds, attentionMask, positions, cache, MaskLayout.ANY);
    }

    /** The whole forward with the mask's layout known ({@link #prepare(NDArray, NDArray, KvCache, int, MaskLayout)}). */
    default NDArray forward(NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, KvCache cache,
            MaskLayout layout) {
        try (LayerContext ctx = prepare(attentionMask, positions, cache, (int) inputsEmbeds.getShape().get(1), layout)) {
            NDArray h = inputsEmbeds;
            for (int i = 0; i < numLayers(); i++) {
                h = layer(i, h, ctx);
            }
            return head(h);
        }
    }

    /** A fresh KV cache for incremental decoding of {@code batch} rows up to {@code maxLen} positions. */
    KvCache newCache(int batch, int maxLen);

    /** Tokenizer, prompt format and label masking as the reference does for this family. */
    TextPipeline text();

    Module module();

    /** Per-forward state; see {@link #prepare}. */
    interface LayerContext extends AutoCloseable {
        @Override
        void close();
    }

    /** Keys and values of past positions, one entry per layer. */
    interface KvCache extends AutoCloseable {
        /** Positions already cached. */
        int length();

        @Override
        void close();
    }
}
