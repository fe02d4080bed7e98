package dev.merv.encoders.timm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.WeightLoader;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.layers.Scoped;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.Resample;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * MERV's wrapper around an image ViT from timm (SigLIP, DINOv2): frames are flattened into the
 * batch ({@code [B, T, 3, H, W] -> [B*T, 3, H, W]}), the featurizer is timm's
 * {@code get_intermediate_layers(n={blockIndex})} (the output of that block, no final norm), the
 * prefix tokens (CLS, registers) are dropped, and frames are concatenated frame-major:
 * {@code [B, T * patches, D]}. Any frame count works; every frame is one temporal slot.
 */
public class TimmFrameEncoder extends FrozenVideoEncoder {

    private final TimmVisionTransformer vit;
    private final int blockIndex;
    private final String[] unusedWeights;

    /**
     * @param unusedWeights checkpoint name prefixes of modules MERV never runs (heads), skipped at load
     */
    public TimmFrameEncoder(String id, TimmVitConfig config, int blockIndex, int numFrames, FrameTransform transform,
            String... unusedWeights) {
        super(id, numFrames, config.imgHeight(), config.imgWidth(), transform);
        if (blockIndex < 0 || blockIndex >= config.depth()) {
            throw new IllegalArgumentException(id + ": featurizer block " + blockIndex + " outside 0.." + (config.depth() - 1));
        }
        this.vit = new TimmVisionTransformer(config);
        this.blockIndex = blockIndex;
        this.unusedWeights = unusedWeights.clone();
    }

    /**
     * {@code config} built for {@code height x width} inputs, featurized at block {@code depth - 2} (MERV's
     * choice for both SigLIP and DINOv2), every frame through {@code transform}.
     */
    public static TimmFrameEncoder penultimateBlock(String id, TimmVitConfig config, int height, int width, int numFrames,
            FrameTransform transform, String... unusedWeights) {
        TimmVitConfig c = config.withImgSize(height, width);
        return new TimmFrameEncoder(id, c, c.depth() - 2, numFrames, transform, unusedWeights);
    }

    public TimmVisionTransformer vit() {
        return vit;
    }

    public int blockIndex() {
        return blockIndex;
    }

    @Override
    public Module module() {
        return vit;
    }

    @Override
    public int temporalResolution() {
        return numFrames();
    }

    @Override
    public int spatialResolution() {
        return vit.config().numPatches();
    }

    @Override
    public int embedDim() {
        return vit.config().embedDim();
    }

    @Override
    public NDArray features(NDArray pixels) {
        long b = pixels.getShape().get(0);
        long t = pixels.getShape().get(1);
        int prefix = vit.config().prefixTokens();
        NDArray flat = pixels.reshape(b * t, pixels.getShape().get(2), pixels.getShape().get(3), pixels.getShape().get(4));
        NDArray x = vit.blocks(vit.embed(flat), blockIndex);
        return Scoped.apply(x, y -> {
            NDArray patches = prefix == 0 ? y : y.get(":, " + prefix + ":, :");
            return patches.reshape(b, t * patches.getShape().get(1), patches.getShape().get(2));
        });
    }

    /**
     * Loads timm-named weights found under {@code prefix} ({@code visual.trunk.} in the open_clip
     * files the SigLIP hub repos hold; empty for timm's own files); names outside it (a text tower)
     * and the family's unused heads are skipped. A checkpoint position grid of another length (DINOv2's 37x37 at
     * 518px, SigLIP 384px weights at 224px) is resampled to this model's grid (rows x columns, square or not) once at
     * load, as timm's {@code resample_abs_pos_embed} does: the checkpoint's grid is read as a square, resized
     * bicubically with antialiasing, prefix positions kept. A grid of the same length is loaded as it is (timm
     * resamples only when the lengths differ).
     */
    @Override
    public void loadWeights(WeightSource source, String prefix, NDManager manager, ScalarType dtype) {
        String[] ignoredPrefixes = unusedWeights;
        Map<String, Param> table = new LinkedHashMap<>(WeightLoader.identity(prefix, vit.namedParameters()));
        String posName = prefix + "pos_embed";
        boolean resample = source.names().contains(posName)
                && source.info(posName).shape().length == 3
                && source.info(posName).shape()[1] != vit.posEmbed().shape().get(1);
        if (resample) {
            table.remove(posName);
        }
        Predicate<String> ignore = n -> {
            if (!n.startsWith(prefix) || resample && n.equals(posName)) {
                return true;
            }
            for (String p : ignoredPrefixes) {
                if (n.startsWith(prefix + p)) {
                    return true;
                }
            }
            return false;
        };
        WeightLoader.load(source, table, manager, dtype, true, ignore);
        if (resample) {
            try (NDManager tmp = manager.newSubManager()) {
                NDArray src = source.load(posName, tmp, ScalarType.FLOAT32);
                NDArray out = resamplePosEmbed(src, manager);
                if (dtype != null && dtype != ScalarType.FLOAT32) {
                    NDArray cast = dev.merv.core.torch.Torch.copy(out, dtype);
                    out.close();
                    out = cast;
                }
                vit.posEmbed().set(out);
            }
        }
    }

    private NDArray resamplePosEmbed(NDArray src, NDManager manager) {
        TimmVitConfig c = vit.config();
        long[] s = src.getShape().getShape();
        int d = c.embedDim();
        int prefixPos = c.noEmbedClass() ? 0 : c.prefixTokens();
        long gridLen = s[1] - prefixPos;
        int g = (int) Math.round(Math.sqrt(gridLen));
        if (s.length != 3 || s[0] != 1 || s[2] != d || (long) g * g != gridLen) {
            throw new IllegalArgumentException(id() + ": checkpoint pos_embed " + new Shape(s) + " is not [1, " + prefixPos
                    + " + g*g, " + d + "]");
        }
        float[] v = src.toFloatArray();
        int gh = c.gridHeight();
        int gw = c.gridWidth();
        int cells = gh * gw;
        double[] grid = new double[d * g * g];
        for (int i = 0; i < g * g; i++) {
            for (int ch = 0; ch < d; ch++) {
                grid[ch * g * g + i] = v[(prefixPos + i) * d + ch];
            }
        }
        double[] r = Resample.resizeFloat(grid, d, g, g, gh, gw, Filter.BICUBIC);
        float[] out = new float[(prefixPos + cells) * d];
        System.arraycopy(v, 0, out, 0, prefixPos * d);
        for (int i = 0; i < cells; i++) {
            for (int ch = 0; ch < d; ch++) {
                out[(prefixPos + i) * d + ch] = (float) r[ch * cells + i];
            }
        }
        return manager.create(out, new Shape(1, prefixPos + (long) cells, d));
    }
}
