package dev.merv.encoders.languagebind;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.nn.Module;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.WeightLoader;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.layers.Scoped;
import java.util.List;

/**
 * MERV's {@code languagebind-video-noclass}: input {@code [B, 3, T, S, S]} (channels before time),
 * featurizer = {@code hidden_states[-2]} (the output of the second-to-last layer, no post-LN), CLS
 * token dropped, {@code [B, T * patches, D]}. T must be a multiple of the tower's {@code num_frames}
 * (W2: the clip is processed in independent consecutive groups of that many frames).
 */
public final class LanguageBindEncoder extends FrozenVideoEncoder {

    private final LanguageBindVisionTower tower;

    /** How frames are grouped for temporal attention (W2). */
    public enum TemporalGrouping {
        /** Consecutive groups of the config's {@code num_frames} (what MERV and the released checkpoints compute). */
        PARITY_GROUPS,
        /** One group of the whole clip, temporal embedding interpolated to its length (the W2 fix). */
        WHOLE_CLIP_INTERPOLATED
    }

    public LanguageBindEncoder(String id, LanguageBindConfig config, int numFrames, FrameTransform transform) {
        this(id, config, numFrames, transform, TemporalGrouping.PARITY_GROUPS);
    }

    public LanguageBindEncoder(String id, LanguageBindConfig config, int numFrames, FrameTransform transform,
            TemporalGrouping grouping) {
        super(id, numFrames, config.imageSize(), config.imageSize(), transform);
        if (config.addTimeAttn() && grouping == TemporalGrouping.PARITY_GROUPS && numFrames % config.numFrames() != 0) {
            throw new IllegalArgumentException(id + ": " + numFrames + " frames cannot be split into the tower's groups of "
                    + config.numFrames() + " frames (num_frames); use a multiple of " + config.numFrames());
        }
        if (config.numHiddenLayers() < 2) {
            throw new IllegalArgumentException(id + ": hidden_states[-2] needs at least 2 layers, config has "
                    + config.numHiddenLayers());
        }
        this.tower = new LanguageBindVisionTower(config);
        if (grouping == TemporalGrouping.WHOLE_CLIP_INTERPOLATED) {
            tower.setTemporalGroup(numFrames);
        }
    }

    public LanguageBindVisionTower tower() {
        return tower;
    }

    @Override
    public Module module() {
        return tower;
    }

    @Override
    public int temporalResolution() {
        return numFrames();
    }

    @Override
    public int spatialResolution() {
        return tower.config().numPatches();
    }

    @Override
    public int embedDim() {
        return tower.config().hiddenSize();
    }

    @Override
    public NDArray features(NDArray pixels) {
        long b = pixels.getShape().get(0);
        int last = tower.numLayers() - 1;
        NDArray h = tower.embed(pixels);
        for (int i = 0; i < last; i++) {
            NDArray prev = h;
            h = tower.layer(i, h);
            prev.close();
        }
        return Scoped.apply(h, x -> {
            NDArray patches = x.get(":, 1:, :");
            return patches.reshape(b, -1, patches.getShape().get(2));
        });
    }

    /** All hidden states {@code [B*T, N+1, D]} (index 0 = embeddings), for inspection. */
    public List<NDArray> hiddenStates(NDArray pixels) {
        return tower.hiddenStates(pixels, tower.numLayers());
    }

    /**
     * Loads HF names under {@code prefix} ({@code vision_model.} in the hub checkpoint,
     * {@code featurizer.} in MERV's); other names in the source (text tower, projections) are ignored.
     */
    @Override
    public void loadWeights(WeightSource source, String prefix, NDManager manager, ScalarType dtype) {
        WeightLoader.load(source, WeightLoader.identity(prefix, tower.namedParameters()), manager, dtype, true,
                n -> !n.startsWith(prefix) || n.endsWith("position_ids"));
    }
}
