package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.RmsNorm;
import dev.merv.core.nn.SwiGluMlp;

/** Pre-norm decoder layer: {@code h + attn(norm(h))}, then {@code h + mlp(norm(h))}; HF child names. */
final class LlamaDecoderLayer extends Module {

    final LlamaAttention selfAttn;
    final SwiGluMlp mlp;
    final RmsNorm inputNorm;
    final RmsNorm postAttnNorm;

    LlamaDecoderLayer(LlamaConfig c) {
        selfAttn = child("self_attn", new LlamaAttention(c));
        mlp = child("mlp", new SwiGluMlp(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        inputNorm = child("input_layernorm", new RmsNorm(c.hiddenSize(), (float) c.rmsNormEps()));
        postAttnNorm = child("post_attention_layernorm", new RmsNorm(c.hiddenSize(), (float) c.rmsNormEps()));
    }

    NDArray forward(NDArray h, DecoderContext ctx, int index) {
        NDArray a = selfAttn.forward(LlamaModel.norm(inputNorm, h), ctx, index);
        NDArray h1 = h.add(a);
        NDArray m = mlp.forward(LlamaModel.norm(postAttnNorm, h1));
        return h1.add(m);
    }
}
