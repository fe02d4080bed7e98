package dev.merv.encoders.hiera;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import java.util.Arrays;

/**
 * Constructor arguments of the hiera package's {@code Hiera} (video form: 3-d sizes {@code [T, H, W]}),
 * with the package's names.
 */
public record HieraConfig(int[] inputSize, int embedDim, int numHeads, int[] stages, int qPool, int[] qStride,
        int[] maskUnitSize, boolean[] maskUnitAttn, double dimMul, double headMul, int[] patchKernel, int[] patchStride,
        int[] patchPadding, double mlpRatio, boolean sepPosEmbed, double normEps, int numClasses) {

    public HieraConfig {
        if (inputSize.length != 3) {
            throw new IllegalArgumentException("Hiera: video input_size must be [T, H, W], got " + Arrays.toString(inputSize));
        }
        if (qPool >= stages.length) {
            throw new IllegalArgumentException("Hiera: q_pool " + qPool + " must be < number of stages " + stages.length);
        }
        for (int i = 0; i < 3; i++) {
            int tokens = inputSize[i] / patchStride[i];
            if (tokens % maskUnitSize[i] != 0) {
                throw new IllegalArgumentException("Hiera: token grid " + Arrays.toString(tokensSpatialShape())
                        + " is not divisible by mask_unit_size " + Arrays.toString(maskUnitSize));
            }
        }
    }

    public int[] tokensSpatialShape() {
        int[] s = new int[3];
        for (int i = 0; i < 3; i++) {
            s[i] = inputSize[i] / patchStride[i];
        }
        return s;
    }

    public int depth() {
        return Arrays.stream(stages).sum();
    }

    /** Block indices that end a stage. */
    public int[] stageEnds() {
        int[] ends = new int[stages.length];
        int acc = 0;
        for (int i = 0; i < stages.length; i++) {
            acc += stages[i];
            ends[i] = acc - 1;
        }
        return ends;
    }

    /** Channel width after the last stage ({@code embed_dim * dim_mul^(stages-1)}). */
    public int numFeatures() {
        int d = embedDim;
        for (int i = 1; i < stages.length; i++) {
            d = (int) (d * dimMul);
        }
        return d;
    }

    /** Token grid {@code [t, h, w]} at the end of stage {@code stage} (0-based). */
    public int[] stageGrid(int stage) {
        int[] g = tokensSpatialShape();
        for (int k = 0; k < Math.min(stage, qPool); k++) {
            for (int i = 0; i < 3; i++) {
                g[i] /= qStride[i];
            }
        }
        return g;
    }

    public HieraConfig withInputSize(int[] size) {
        return new HieraConfig(size.clone(), embedDim, numHeads, stages, qPool, qStride, maskUnitSize, maskUnitAttn, dimMul, headMul,
                patchKernel, patchStride, patchPadding, mlpRatio, sepPosEmbed, normEps, numClasses);
    }

    /** Every width divided by {@code k} (heads kept), for benchmarks and tests. */
    public HieraConfig narrower(int k) {
        return new HieraConfig(inputSize, embedDim / k, numHeads, stages, qPool, qStride, maskUnitSize, maskUnitAttn, dimMul, headMul,
                patchKernel, patchStride, patchPadding, mlpRatio, sepPosEmbed, normEps, numClasses);
    }

    /**
     * Reads hiera kwargs. A key the file leaves out takes the value of {@code hiera_base_plus_16x224}, the
     * checkpoint MERV uses (the catalog entry {@code hiera-base-plus-video}), as the hub configs list only
     * what their model function passes.
     */
    public static HieraConfig fromJson(JsonObject json, String source) {
        JsonObject c = Catalog.encoder(Catalog.HIERA).config();
        json.entrySet().forEach(e -> c.add(e.getKey(), e.getValue()));
        try {
            return new HieraConfig(ints(c, "input_size"), c.get("embed_dim").getAsInt(), c.get("num_heads").getAsInt(),
                    ints(c, "stages"), c.get("q_pool").getAsInt(), ints(c, "q_stride"), ints(c, "mask_unit_size"),
                    bools(c, "mask_unit_attn"), c.get("dim_mul").getAsDouble(), c.get("head_mul").getAsDouble(),
                    ints(c, "patch_kernel"), ints(c, "patch_stride"), ints(c, "patch_padding"),
                    c.get("mlp_ratio").getAsDouble(), c.get("sep_pos_embed").getAsBoolean(), c.get("norm_eps").getAsDouble(),
                    c.get("num_classes").getAsInt());
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException | ClassCastException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static int[] ints(JsonObject c, String key) {
        JsonArray a = c.getAsJsonArray(key);
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static boolean[] bools(JsonObject c, String key) {
        JsonArray a = c.getAsJsonArray(key);
        boolean[] out = new boolean[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsBoolean();
        }
        return out;
    }
}
