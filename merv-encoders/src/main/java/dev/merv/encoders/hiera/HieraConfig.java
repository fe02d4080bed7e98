package dev.merv.encoders.hiera;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
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

    /** {@code hiera_base_plus_16x224} (video, K400): embed 112, heads 2, stages (2, 3, 16, 3). */
    public static HieraConfig basePlus16x224() {
        return new HieraConfig(new int[] {16, 224, 224}, 112, 2, new int[] {2, 3, 16, 3}, 3, new int[] {1, 2, 2},
                new int[] {1, 8, 8}, new boolean[] {true, true, false, false}, 2.0, 2.0, new int[] {3, 7, 7},
                new int[] {2, 4, 4}, new int[] {1, 3, 3}, 4.0, true, 1e-6, 400);
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

    public static HieraConfig fromJson(JsonObject c, String source) {
        HieraConfig d = basePlus16x224();
        return new HieraConfig(ints(c, "input_size", d.inputSize, source), c.has("embed_dim") ? c.get("embed_dim").getAsInt() : d.embedDim,
                c.has("num_heads") ? c.get("num_heads").getAsInt() : d.numHeads, ints(c, "stages", d.stages, source),
                c.has("q_pool") ? c.get("q_pool").getAsInt() : d.qPool, ints(c, "q_stride", d.qStride, source),
                ints(c, "mask_unit_size", d.maskUnitSize, source), bools(c, "mask_unit_attn", d.maskUnitAttn),
                c.has("dim_mul") ? c.get("dim_mul").getAsDouble() : 2.0, c.has("head_mul") ? c.get("head_mul").getAsDouble() : 2.0,
                ints(c, "patch_kernel", d.patchKernel, source), ints(c, "patch_stride", d.patchStride, source),
                ints(c, "patch_padding", d.patchPadding, source), c.has("mlp_ratio") ? c.get("mlp_ratio").getAsDouble() : 4.0,
                c.has("sep_pos_embed") ? c.get("sep_pos_embed").getAsBoolean() : d.sepPosEmbed,
                c.has("norm_eps") ? c.get("norm_eps").getAsDouble() : 1e-6,
                c.has("num_classes") ? c.get("num_classes").getAsInt() : d.numClasses);
    }

    private static int[] ints(JsonObject c, String key, int[] def, String source) {
        if (!c.has(key)) {
            return def.clone();
        }
        JsonArray a = c.getAsJsonArray(key);
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static boolean[] bools(JsonObject c, String key, boolean[] def) {
        if (!c.has(key)) {
            return def.clone();
        }
        JsonArray a = c.getAsJsonArray(key);
        boolean[] out = new boolean[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsBoolean();
        }
        return out;
    }
}
