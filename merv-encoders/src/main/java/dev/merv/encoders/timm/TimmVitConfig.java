package dev.merv.encoders.timm;

import com.google.gson.JsonObject;

/**
 * Constructor arguments of timm's {@code VisionTransformer} as SigLIP and DINOv2 use them (timm
 * kwarg names in the fixtures' {@code config.json}).
 *
 * @param imgSize input side the position grid is built for (the grid is {@code imgSize / patchSize})
 * @param classToken whether a CLS token is prepended
 * @param regTokens register tokens after the CLS token (DINOv2-reg: 4)
 * @param noEmbedClass position embeddings cover the patch tokens only and are added before the
 *     prefix tokens are concatenated
 * @param initValues LayerScale init; a non-null value means the blocks have {@code ls1/ls2.gamma}
 * @param mlpRatio MLP hidden width / embed dim (SO400M: 4304/1152)
 * @param mlpHidden explicit MLP hidden width, 0 = {@code embedDim * mlpRatio}
 * @param globalPool {@code map} means an attention-pool head ({@code attn_pool.*}) exists in the checkpoint
 * @param normEps LayerNorm epsilon
 */
public record TimmVitConfig(int imgSize, int patchSize, int embedDim, int depth, int numHeads, boolean classToken,
        int regTokens, boolean noEmbedClass, Double initValues, double mlpRatio, int mlpHidden, String globalPool,
        double normEps) {

    public TimmVitConfig {
        if (imgSize <= 0 || patchSize <= 0 || imgSize % patchSize != 0) {
            throw new IllegalArgumentException("timm ViT: img_size " + imgSize + " must be a positive multiple of patch_size "
                    + patchSize);
        }
        if (embedDim % numHeads != 0) {
            throw new IllegalArgumentException("timm ViT: embed_dim " + embedDim + " is not divisible by num_heads " + numHeads);
        }
    }

    public int gridSize() {
        return imgSize / patchSize;
    }

    public int numPatches() {
        return gridSize() * gridSize();
    }

    public int prefixTokens() {
        return (classToken ? 1 : 0) + regTokens;
    }

    public int mlpHiddenDim() {
        return mlpHidden > 0 ? mlpHidden : (int) (embedDim * mlpRatio);
    }

    public TimmVitConfig withImgSize(int size) {
        return new TimmVitConfig(size, patchSize, embedDim, depth, numHeads, classToken, regTokens, noEmbedClass, initValues,
                mlpRatio, mlpHidden, globalPool, normEps);
    }

    /** The same architecture with every width divided by {@code k} (heads kept), for benchmarks and tests. */
    public TimmVitConfig narrower(int k) {
        return new TimmVitConfig(imgSize, patchSize, embedDim / k, depth, numHeads, classToken, regTokens, noEmbedClass, initValues,
                mlpRatio, mlpHidden / k, globalPool, normEps);
    }

    /** Reads timm kwargs ({@code img_size, patch_size, embed_dim, depth, num_heads, ...}); fails naming a missing key. */
    public static TimmVitConfig fromJson(JsonObject c, String source) {
        return new TimmVitConfig(req(c, "img_size", source), req(c, "patch_size", source), req(c, "embed_dim", source),
                req(c, "depth", source), req(c, "num_heads", source),
                !c.has("class_token") || c.get("class_token").getAsBoolean(),
                c.has("reg_tokens") ? c.get("reg_tokens").getAsInt() : 0,
                c.has("no_embed_class") && c.get("no_embed_class").getAsBoolean(),
                c.has("init_values") && !c.get("init_values").isJsonNull() ? c.get("init_values").getAsDouble() : null,
                c.has("mlp_ratio") ? c.get("mlp_ratio").getAsDouble() : 4.0, 0,
                c.has("global_pool") ? c.get("global_pool").getAsString() : "token",
                c.has("norm_eps") ? c.get("norm_eps").getAsDouble() : 1e-6);
    }

    static int req(JsonObject c, String key, String source) {
        if (!c.has(key)) {
            throw new IllegalArgumentException(source + ": missing '" + key + "'");
        }
        return c.get(key).getAsInt();
    }
}
