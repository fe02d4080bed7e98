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
     * Files this model adds to every checkpoint beside {@code model.safetensors} (e.g. adapter weights in a
     * layout another tool reads), by file name. Replica 0's are written after the weights, recorded with
     * their sizes and checksums and verified on resume like the others. None by default.
     */
    default Map<String, Checkpoints.ContentWriter> checkpointFiles() {
        return Map.of();
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
    }

    /** The hidden state entering layer 0 and the per-forward context every layer reads; close the context when done. */
    record Prefix(NDArray hidden, LanguageModel.LayerContext context) {}
}
