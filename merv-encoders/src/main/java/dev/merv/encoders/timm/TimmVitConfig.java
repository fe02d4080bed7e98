package dev.merv.encoders.timm;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Constructor arguments of timm's {@code VisionTransformer} as SigLIP and DINOv2 use them (timm
 * kwarg names in the fixtures' {@code config.json}).
 *
 * @param imgHeight input height the position grid is built for (grid rows {@code imgHeight / patchSize})
 * @param imgWidth input width the position grid is built for (grid columns {@code imgWidth / patchSize});
 *     timm's {@code img_size} is an int (square) or {@code (H, W)}
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
public record TimmVitConfig(int imgHeight, int imgWidth, int patchSize, int embedDim, int depth, int numHeads,
        boolean classToken, int regTokens, boolean noEmbedClass, Double initValues, double mlpRatio, int mlpHidden,
        String globalPool, double normEps) {

    public TimmVitConfig {
        if (imgHeight <= 0 || imgWidth <= 0 || patchSize <= 0 || imgHeight % patchSize != 0 || imgWidth % patchSize != 0) {
            throw new IllegalArgumentException("timm ViT: img_size " + sizeText(imgHeight, imgWidth)
                    + " must be positive multiples of patch_size " + patchSize);
        }
        if (embedDim % numHeads != 0) {
            throw new IllegalArgumentException("timm ViT: embed_dim " + embedDim + " is not divisible by num_heads " + numHeads);
        }
    }

    /** Patch-grid rows. */
    public int gridHeight() {
        return imgHeight / patchSize;
    }

    /** Patch-grid columns. */
    public int gridWidth() {
        return imgWidth / patchSize;
    }

    /** Patch tokens per image, row-major over the {@link #gridHeight()} x {@link #gridWidth()} grid. */
    public int numPatches() {
        return gridHeight() * gridWidth();
    }

    public int prefixTokens() {
        return (classToken ? 1 : 0) + regTokens;
    }

    public int mlpHiddenDim() {
        return mlpHidden > 0 ? mlpHidden : (int) (embedDim * mlpRatio);
    }

    /** {@code img_size} as timm prints it: {@code 224} or {@code (64, 96)}. */
    public String imgSizeText() {
        return sizeText(imgHeight, imgWidth);
    }

    private static String sizeText(int h, int w) {
        return h == w ? String.valueOf(h) : "(" + h + ", " + w + ")";
    }

    /** The same architecture built for square {@code size x size} inputs. */
    public TimmVitConfig withImgSize(int size) {
        return withImgSize(size, size);
    }

    /** The same architecture built for {@code height x width} inputs. */
    public TimmVitConfig withImgSize(int height, int width) {
        return new TimmVitConfig(height, width, patchSize, embedDim, depth, numHeads, classToken, regTokens, noEmbedClass,
                initValues, mlpRatio, mlpHidden, globalPool, normEps);
    }

    /** The same architecture with every width divided by {@code k} (heads kept), for benchmarks and tests. */
    public TimmVitConfig narrower(int k) {
        return new TimmVitConfig(imgHeight, imgWidth, patchSize, embedDim / k, depth, numHeads, classToken, regTokens,
                noEmbedClass, initValues, mlpRatio, mlpHidden / k, globalPool, normEps);
    }

    /**
     * Reads timm kwargs ({@code img_size, patch_size, embed_dim, depth, num_heads, ...}); {@code img_size} is an
     * int or a two-element {@code [H, W]} list, as timm's {@code to_2tuple} takes it. Fails naming a missing or
     * malformed key.
     */
    public static TimmVitConfig fromJson(JsonObject c, String source) {
        int[] img = imgSize(c, source);
        return new TimmVitConfig(img[0], img[1], req(c, "patch_size", source), req(c, "embed_dim", source),
                req(c, "depth", source), req(c, "num_heads", source),
                !c.has("class_token") || c.get("class_token").getAsBoolean(),
                c.has("reg_tokens") ? c.get("reg_tokens").getAsInt() : 0,
                c.has("no_embed_class") && c.get("no_embed_class").getAsBoolean(),
                c.has("init_values") && !c.get("init_values").isJsonNull() ? c.get("init_values").getAsDouble() : null,
                c.has("mlp_ratio") ? c.get("mlp_ratio").getAsDouble() : 4.0, 0,
                c.has("global_pool") ? c.get("global_pool").getAsString() : "token",
                c.has("norm_eps") ? c.get("norm_eps").getAsDouble() : 1e-6);
    }

    private static int[] imgSize(JsonObject c, String source) {
        if (!c.has("img_size")) {
            throw new IllegalArgumentException(source + ": missing 'img_size'");
        }
        JsonElement e = c.get("img_size");
        try {
            if (e.isJsonArray()) {
                JsonArray a = e.getAsJsonArray();
                if (a.size() != 2) {
                    throw new IllegalArgumentException("a list must be [H, W]");
                }
                return new int[] {a.get(0).getAsInt(), a.get(1).getAsInt()};
            }
            int s = e.getAsInt();
            return new int[] {s, s};
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException(source + ": 'img_size' " + e + " is not an int or [H, W]: " + ex.getMessage(), ex);
        }
    }

    static int req(JsonObject c, String key, String source) {
        if (!c.has(key)) {
            throw new IllegalArgumentException(source + ": missing '" + key + "'");
        }
        return c.get(key).getAsInt();
    }
}
