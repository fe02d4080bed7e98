package dev.merv.encoders.vivit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.nn.Module;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.WeightLoader;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.layers.Scoped;

/**
 * MERV's ViViT backbones: the whole clip ({@code [B, T, 3, S, S]}, T = the model's {@code num_frames})
 * in one pass, {@code last_hidden_state} (after the final LayerNorm) with the CLS token dropped, in
 * tubelet order {@code (t, h, w)}. {@link Tokens#ALL_SLOTS} ({@code ...-all-no-cls-16frames}) keeps
 * every temporal slot, {@link Tokens#EVERY_SECOND_SLOT} ({@code ...-all-no-cls}) keeps slots 0, 2, 4, ...
 */
public final class VivitEncoder extends FrozenVideoEncoder {

    /** Which temporal slots MERV keeps. */
    public enum Tokens { ALL_SLOTS, EVERY_SECOND_SLOT }

    private final VivitModel model;
    private final Tokens tokens;

    public VivitEncoder(String id, VivitConfig config, int numFrames, Tokens tokens, FrameTransform transform) {
        super(id, numFrames, config.imageSize(), config.imageSize(), transform);
        if (numFrames % config.tubeletSize()[0] != 0) {
            throw new IllegalArgumentException(id + ": " + numFrames + " frames are not divisible by the tubelet depth "
                    + config.tubeletSize()[0]);
        }
        if (numFrames != config.numFrames()) {
            throw new IllegalArgumentException(id + ": " + numFrames + " frames do not fit the model's "
                    + config.numFrames() + "-frame position embeddings (" + config.temporalSlots() + " temporal slots)");
        }
        this.model = new VivitModel(config);
        this.tokens = tokens;
    }

    public VivitModel model() {
        return model;
    }

    @Override
    public Module module() {
        return model;
    }

    @Override
    public int temporalResolution() {
        int slots = model.config().temporalSlots();
        return tokens == Tokens.ALL_SLOTS ? slots : (slots + 1) / 2;
    }

    @Override
    public int spatialResolution() {
        return model.config().gridH() * model.config().gridW();
    }

    @Override
    public int embedDim() {
        return model.config().hiddenSize();
    }

    @Override
    public NDArray features(NDArray pixels) {
        return select(model.forward(pixels));
    }

    /** MERV's token selection on {@code last_hidden_state}. */
    public NDArray select(NDArray lastHidden) {
        VivitConfig c = model.config();
        long b = lastHidden.getShape().get(0);
        long d = lastHidden.getShape().get(2);
        return Scoped.apply(lastHidden, h -> {
            NDArray x = h.get(":, 1:, :").reshape(b, c.temporalSlots(), (long) c.gridH() * c.gridW(), d);
            if (tokens == Tokens.EVERY_SECOND_SLOT) {
                x = x.get(":, ::2, :, :");
            }
            return x.reshape(b, -1, d);
        });
    }

    /** Loads HF names under {@code prefix} ({@code vivit.} in the hub file); the classifier is ignored. */
    @Override
    public void loadWeights(WeightSource source, String prefix, NDManager manager, ScalarType dtype) {
        WeightLoader.load(source, WeightLoader.identity(prefix, model.namedParameters()), manager, dtype, true,
                n -> !n.startsWith(prefix) || n.startsWith("classifier."));
    }
}
