package dev.merv.encoders.hiera;

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
 * MERV's {@code hiera-base-plus-video}: {@code [B, F, 3, H, W]} is cut into consecutive clips of
 * the model's {@code input_size[0]} frames ({@code [B*F/T, 3, T, H, W]}), each clip runs through
 * Hiera, the last stage-end intermediate ({@code [clips, t, h, w, C]}, spatial order, before the
 * final norm and pooling) is taken and flattened per video: {@code [B, (F/T)*t*h*w, C]}. Any
 * {@code input_size [T, H, W]} the model's strides and mask units divide works, {@code H != W} included
 * (upstream Hiera takes it; the projectors then read the {@code h*w} tokens as the reference does).
 */
public final class HieraEncoder extends FrozenVideoEncoder {

    private final Hiera hiera;
    private final int clipFrames;

    public HieraEncoder(String id, HieraConfig config, int numFrames, FrameTransform transform) {
        super(id, numFrames, config.inputSize()[1], config.inputSize()[2], transform);
        clipFrames = config.inputSize()[0];
        if (numFrames % clipFrames != 0) {
            throw new IllegalArgumentException(id + ": " + numFrames + " frames are not a multiple of the model's "
                    + clipFrames + "-frame clips");
        }
        hiera = new Hiera(config);
    }

    public Hiera hiera() {
        return hiera;
    }

    @Override
    public Module module() {
        return hiera;
    }

    private int[] lastGrid() {
        return hiera.config().stageGrid(hiera.config().stages().length - 1);
    }

    @Override
    public int temporalResolution() {
        return numFrames() / clipFrames * lastGrid()[0];
    }

    @Override
    public int spatialResolution() {
        return lastGrid()[1] * lastGrid()[2];
    }

    @Override
    public int embedDim() {
        return hiera.config().numFeatures();
    }

    /** {@code [B, F, 3, H, W]} to channels-first clips {@code [B*F/T, 3, T, H, W]}. */
    public NDArray clips(NDArray pixels) {
        long[] s = pixels.getShape().getShape();
        if (s[1] % clipFrames != 0) {
            throw new IllegalArgumentException(id() + ": " + s[1] + " frames are not a multiple of " + clipFrames);
        }
        return pixels.reshape(-1, clipFrames, s[2], s[3], s[4]).transpose(0, 2, 1, 3, 4);
    }

    @Override
    public NDArray features(NDArray pixels) {
        long b = pixels.getShape().get(0);
        NDArray clips = clips(pixels);
        NDArray last = hiera.stageOutput(clips, hiera.config().stages().length - 1);
        return Scoped.apply(last, x -> x.reshape(b, -1, x.getShape().get(4)));
    }

    /** Loads the hiera package's names under {@code prefix} (empty for the hub file, {@code featurizer.} in MERV's). */
    @Override
    public void loadWeights(WeightSource source, String prefix, NDManager manager, ScalarType dtype) {
        WeightLoader.load(source, WeightLoader.identity(prefix, hiera.namedParameters()), manager, dtype, true,
                n -> !n.startsWith(prefix));
    }
}
