package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervOutput;
import dev.merv.core.model.MixingWeights;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.nn.Param;
import java.util.Map;

/**
 * {@link Merv} as the trainer's model: parameters by their reference paths, the plain forward, and the
 * layer-wise form (splice, LLM layers, head + loss) that activation recomputation needs. One instance
 * per replica; a replica runs on one thread, so the splice of the current micro-batch is kept here
 * between {@code prefix} and {@code head}.
 */
public final class MervTrainable implements TrainableModel<MervMicroBatch> {

    private final Merv merv;
    private SplicedInputs current;

    public MervTrainable(Merv merv) {
        this.merv = merv;
    }

    public Merv merv() {
        return merv;
    }

    @Override
    public Map<String, Param> parameters() {
        return merv.module().namedParameters();
    }

    @Override
    public LossSum forward(MervMicroBatch batch) {
        MervOutput out = merv.forward(batch.batch());
        return new LossSum(out.lossSum(), out.supervisedTokens());
    }

    @Override
    public float[] mixingWeights() {
        MixingWeights w = merv.lastMixingWeights();
        if (w == null) {
            return new float[0];
        }
        double[] m = w.meanPerEncoder();
        float[] f = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            f[i] = (float) m[i];
        }
        return f;
    }

    @Override
    public Layered<MervMicroBatch> layered() {
        LanguageModel llm = merv.llm();
        return new Layered<>() {
            @Override
            public Prefix prefix(MervMicroBatch batch) {
                current = merv.splice(batch.batch());
                NDArray h = current.embeddings();
                return new Prefix(h, llm.prepare(current.attentionMask(), null, null, (int) h.getShape().get(1),
                        current.maskLayout()));
            }

            @Override
            public int numLayers() {
                return llm.numLayers();
            }

            @Override
            public NDArray layer(int index, NDArray hidden, LanguageModel.LayerContext ctx) {
                return llm.layer(index, hidden, ctx);
            }

            @Override
            public int layerOf(String name) {
                // the LLM's decoder layers (HF names under the reference's llm_backbone.llm. prefix)
                return Layered.layerIndex("llm_backbone.llm.model.layers.", name);
            }

            @Override
            public LossSum head(NDArray hidden, LanguageModel.LayerContext ctx, MervMicroBatch batch) {
                NDArray logits = llm.head(hidden);
                return CausalLmLoss.sum(logits, current.labels(), batch.batch().supervisedTokens());
            }
        };
    }
}
