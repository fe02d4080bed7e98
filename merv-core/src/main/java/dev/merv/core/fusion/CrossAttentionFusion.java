package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The reference's {@code CrossAttentionAdapterLearnableQuery} (averagetoken): {@code cross_attention_avg_lq}
 * (merv-base) and, with class-embedding keys, {@code cross_attention_classKV}.
 *
 * <p>Parameters (names as the reference's state dict): {@code Q [1, F]} and an
 * {@code nn.MultiheadAttention(F, 1 head, kdim = vdim = D)} under {@code attention}: {@code q_proj_weight
 * [F, F]}, {@code k_proj_weight [F, D]}, {@code v_proj_weight [F, D]}, {@code in_proj_bias [3F]},
 * {@code out_proj.weight/bias} (when {@code D == F} torch packs them as {@code in_proj_weight [3F, F]};
 * so does merv). F = {@code fusion_embed_dim} (3072 in the reference).
 *
 * <p>Forward: keys {@code k_e} = mean over the L tokens of encoder e (avg_lq) or e's projected class
 * embedding (classKV); {@code q = W_q Q + b_q}, {@code s_e = (q / sqrt(F)) . (W_k k_e + b_k)},
 * {@code w = softmax_e(s)}, output {@code sum_e w_e P_e}. W8: the reference also runs the value path and
 * the output projection and discards the result; merv computes only the weights. Those parameters are
 * kept (checkpoints load and save unchanged) and reported by {@link #unusedParameters()}.
 */
public final class CrossAttentionFusion extends FeatureFusion {

    private final boolean classKeys;
    private final int embedDim;
    private final Param query;
    private final Attention attention;

    public CrossAttentionFusion(int numEncoders, int llmDim, int tokenLength, int embedDim, boolean classKeys) {
        super(numEncoders, llmDim, tokenLength);
        this.classKeys = classKeys;
        this.embedDim = embedDim;
        this.query = param("Q", 1, embedDim);
        this.attention = child("attention", new Attention(embedDim, llmDim));
    }

    /** {@code nn.MultiheadAttention} parameter layout. */
    static final class Attention extends Module {
        final boolean packed;
        final Param qWeight;
        final Param kWeight;
        final Param vWeight;
        final Param inWeight;
        final Param inBias;
        final Linear outProj;
        final int e;

        Attention(int e, int kdim) {
            this.e = e;
            this.packed = kdim == e;
            if (packed) {
                inWeight = param("in_proj_weight", 3L * e, e);
                qWeight = null;
                kWeight = null;
                vWeight = null;
            } else {
                qWeight = param("q_proj_weight", e, e);
                kWeight = param("k_proj_weight", e, kdim);
                vWeight = param("v_proj_weight", e, kdim);
                inWeight = null;
            }
            inBias = param("in_proj_bias", 3L * e);
            outProj = child("out_proj", new Linear(e, e, true));
        }

        NDArray wq() {
            return packed ? inWeight.get().get("0:" + e) : qWeight.get();
        }

        NDArray wk() {
            return packed ? inWeight.get().get(e + ":" + (2 * e)) : kWeight.get();
        }
    }

    @Override
    public FusionType type() {
        return classKeys ? FusionType.CROSS_ATTENTION_CLASS_KV : FusionType.CROSS_ATTENTION_AVG_LQ;
    }

    @Override
    public boolean needsClassKeys() {
        return classKeys;
    }

    @Override
    public Set<String> unusedParameters() {
        return attention.packed ? Set.of("attention.out_proj.weight", "attention.out_proj.bias")
                : Set.of("attention.v_proj_weight", "attention.out_proj.weight", "attention.out_proj.bias");
    }

    @Override
    public FusionResult fuse(List<NDArray> projected, FusionContext context) {
        checkInputs(projected, true);
        long b = projected.get(0).getShape().get(0);
        NDManager mgr = projected.get(0).getManager();
        List<NDArray> temps = new ArrayList<>();
        try {
            // sequences of length 1 are repeated to L (reference step 1)
            NDList full = new NDList();
            for (NDArray p : projected) {
                NDArray f = p.getShape().get(1) == 1 ? keep(temps, p.broadcast(b, tokenLength, llmDim)) : p;
                full.add(f);
            }
            NDArray keys;
            if (classKeys) {
                if (context == null || context.classKeys() == null || context.classKeys().size() != numEncoders) {
                    throw new IllegalArgumentException("cross_attention_classKV needs one projected class embedding"
                            + " [B, " + llmDim + "] per encoder in FusionContext.classKeys");
                }
                NDList ks = new NDList();
                for (NDArray k : context.classKeys()) {
                    ks.add(keep(temps, k.reshape(b, llmDim)));
                }
                keys = keep(temps, NDArrays.stack(ks, 1));
            } else {
                NDList means = new NDList();
                for (NDArray f : full) {
                    means.add(keep(temps, f.mean(new int[] {1})));
                }
                keys = keep(temps, NDArrays.stack(means, 1)); // [B, E, D]
            }
            NDArray bq = keep(temps, attention.inBias.get().get("0:" + embedDim));
            NDArray bk = keep(temps, attention.inBias.get().get(embedDim + ":" + (2 * embedDim)));
            // slices of the packed weight are views to close; separate weights are the parameters themselves
            NDArray wq = attention.packed ? keep(temps, attention.wq()) : attention.wq();
            NDArray wk = attention.packed ? keep(temps, attention.wk()) : attention.wk();
            NDArray q = keep(temps, Torch.linear(query.get(), wq, bq)); // [1, F]
            // the scale must outlive this call for the query's backward: a libtorch-owned scalar, not
            // DJL's mul(Number) (whose Java-backed scalar a GC before backward frees; Torch.mulScalar)
            NDArray qs = keep(temps, Torch.mulScalar(q, (float) Math.sqrt(1.0 / embedDim)));
            NDArray k = keep(temps, Torch.linear(keys, wk, bk)); // [B, E, F]
            NDArray qt = keep(temps, qs.reshape(1, embedDim, 1));
            NDArray scores = keep(temps, Torch.matmul(k, qt).reshape(b, numEncoders)); // [B, E]
            NDArray weights = Torch.softmax(scores, 1);
            NDArray stacked = keep(temps, NDArrays.stack(full, 1).reshape(b, numEncoders, (long) tokenLength * llmDim));
            NDArray w3 = keep(temps, weights.reshape(b, 1, numEncoders));
            NDArray mixed = keep(temps, Torch.matmul(w3, stacked));
            NDArray fused = mixed.reshape(b, tokenLength, llmDim);
            return new FusionResult(fused, weights);
        } finally {
            temps.forEach(NDArray::close);
        }
    }

    private static NDArray keep(List<NDArray> temps, NDArray x) {
        temps.add(x);
        return x;
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        // MultiheadAttention.__init__: out_proj Linear default init first, then _reset_parameters
        init.linear(attention.outProj, manager);
        if (attention.packed) {
            init.xavierUniform(attention.inWeight, manager);
        } else {
            init.xavierUniform(attention.qWeight, manager);
            init.xavierUniform(attention.kWeight, manager);
            init.xavierUniform(attention.vWeight, manager);
        }
        ReferenceInit.constant(attention.inBias, 0f, manager);
        ReferenceInit.constant(attention.outProj.bias(), 0f, manager);
        init.xavierUniform(query, manager);
    }

    public int embedDim() {
        return embedDim;
    }
}
