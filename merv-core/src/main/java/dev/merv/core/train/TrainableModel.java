package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.nn.Param;
import java.util.Map;

/**
 * What the trainer needs from a model: its named parameters (those with {@link Param#trainable()}
 * are optimised; the others stay as they are) and a micro-batch forward that returns the summed
 * loss with autograd. One instance per replica (each on its own device and thread).
 *
 * <p>Models whose bulk is a stack of identical layers also expose {@link #layered()}, which lets the
 * trainer recompute each layer during backward instead of keeping its activations. The forward of
 * frozen parts (the encoders) must run without autograd; the model does that itself.
 *
 * @param <B> the micro-batch type
 */
public interface TrainableModel<B extends MicroBatch> {

    /** Every parameter by its dotted name (the checkpoint name of the trainable ones). */
    Map<String, Param> parameters();

    /** Plain forward with autograd: summed cross-entropy over the supervised tokens and their count. */
    LossSum forward(B batch);

    /** The layer-wise form of {@link #forward} for activation recomputation, or null when not offered. */
    default Layered<B> layered() {
        return null;
    }

    /** Per-encoder fusion mixing weights of the last forward (for metrics), or an empty array. */
    default float[] mixingWeights() {
        return new float[0];
    }


    /**
     * The forward split at the recomputable layers, mirroring {@link LanguageModel}'s
     * {@code prepare / layer / head}. {@code forward(b) == head(layer(n-1, ... layer(0, prefix(b).hidden)))}.
     *
     * @param <B> the micro-batch type
     */
    interface Layered<B> {

        /** Everything before the first layer (encoders, projectors, fusion, splice), with autograd. */
        Prefix prefix(B batch);

        int numLayers();

        /** One layer; must be a pure function of {@code hidden}, the context and the parameters. */
        NDArray layer(int index, NDArray hidden, LanguageModel.LayerContext ctx);

        /** Final norm, LM head and the summed loss. */
        LossSum head(NDArray hidden, LanguageModel.LayerContext ctx, B batch);

        /**
         * The layer {@link #layer} call whose backward gives parameter {@code name} its whole gradient, or -1
         * when other parts of the model contribute to it (embeddings, heads, anything outside the layer
         * stack). The trainer reduces a gradient bucket as soon as every parameter in it is final, while the
         * layers below still run their backward. The default, -1 for every name, reduces everything after
         * the whole backward.
         */
        default int layerOf(String name) {
            return -1;
        }

        /** {@link #layerOf} for names {@code <prefix>.<i>.*} of the layer stack's module list. */
        static int layerIndex(String prefix, String name) {
            if (!name.startsWith(prefix) || name.length() <= prefix.length()) {
                return -1;
            }
            int end = name.indexOf('.', prefix.length());
            if (end <= prefix.length()) {
                return -1;
            }
            try {
                return Integer.parseInt(name.substring(prefix.length(), end));
            } catch (NumberFormatException e) {
                return -1;
            }
        }
    }

    /** The hidden state entering layer 0 and the per-forward context every layer reads; close the context when done. */
    record Prefix(NDArray hidden, LanguageModel.LayerContext context) {}
}
