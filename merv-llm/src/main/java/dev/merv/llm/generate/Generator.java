package dev.merv.llm.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Autoregressive decoding for any {@link LanguageModel}: batched prompts are left-padded (HF's layout for
 * generation), positions are {@code cumsum(mask) - 1} per row, and each step either feeds only the new token
 * through the KV cache or, with the cache off, recomputes the whole sequence (the two give the same tokens; a
 * test pins it).
 *
 * <p>The first step may start from embeddings instead of ids ({@link #generateFromEmbeddings}), which is how
 * MERV splices its visual tokens in before decoding.
 *
 * <p>Greedy decoding picks each token on the device ({@code argmax}, the first maximum as torch breaks ties) and
 * reads back one id per row; sampling and recorded logits read the last position's logits to the host, where
 * the HF warpers run in double precision from the seeded stream. Prompts of equal length have no padding, which
 * the LLM is told ({@link MaskLayout#NONE}), so it reads no mask.
 */
public final class Generator {

    private Generator() {}

    /** Generates from token-id prompts (each row may have its own length). */
    public static GenerationResult generate(LanguageModel lm, List<long[]> prompts, GenerationConfig cfg,
            TokenListener listener) {
        int b = prompts.size();
        int len = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (b == 0 || len == 0) {
            throw new IllegalArgumentException("generate needs at least one non-empty prompt");
        }
        long[] ids = new long[b * len];
        long[] mask = new long[b * len];
        for (int r = 0; r < b; r++) {
            long[] p = prompts.get(r);
            if (p.length == 0) {
                throw new IllegalArgumentException("prompt " + r + " is empty");
            }
            int off = len - p.length;
            Arrays.fill(ids, r * len, r * len + off, cfg.padId());
            System.arraycopy(p, 0, ids, r * len + off, p.length);
            Arrays.fill(mask, r * len + off, (r + 1) * len, 1L);
        }
        try (NDManager run = NDManager.newBaseManager(device(lm))) {
            NDArray idArr = run.create(ids, new Shape(b, len));
            NDArray maskArr = run.create(mask, new Shape(b, len));
            NDArray embeds;
            try (Torch.GradMode g = Torch.noGrad()) {
                embeds = lm.embed(idArr);
            }
            return generateFromEmbeddings(lm, embeds, maskArr, cfg, listener);
        }
    }

    /**
     * Generates after a prefix given as embeddings {@code [B, L, D]} with its attention mask {@code [B, L]}
     * (1 = real, left padding). The arrays stay owned by the caller.
     */
    public static GenerationResult generateFromEmbeddings(LanguageModel lm, NDArray prefix, NDArray prefixMask,
            GenerationConfig cfg, TokenListener listener) {
        int b = (int) prefix.getShape().get(0);
        int len = (int) prefix.getShape().get(1);
        long[] maskHost;
        try (NDArray asLong = prefixMask.toType(DataType.INT64, true)) {
            maskHost = asLong.toLongArray();
        }
        int[] lastPos = new int[b];
        boolean padded = false;
        for (int r = 0; r < b; r++) {
            int count = 0;
            for (int t = 0; t < len; t++) {
                count += maskHost[r * len + t] != 0 ? 1 : 0;
            }
            lastPos[r] = count - 1;
            padded |= count < len;
        }
        MaskLayout layout = padded ? MaskLayout.ANY : MaskLayout.NONE;
        List<long[]> generated = new ArrayList<>();
        boolean[] finished = new boolean[b];
        int[] lengths = new int[b];
        List<float[][]> stepLogits = new ArrayList<>();
        Random rng = new Random(cfg.seed());
        LanguageModel.KvCache cache = cfg.useCache() ? lm.newCache(b, len + cfg.maxNewTokens()) : null;
        int steps = 0;
        try (Torch.GradMode g = Torch.noGrad(); NDManager run = NDManager.newBaseManager(prefix.getDevice())) {
            for (int step = 0; step < cfg.maxNewTokens(); step++) {
                float[][] logits = null;
                long[] greedy = null;
                try (NDManager sm = run.newSubManager()) {
                    NDArray last;
                    if (cache != null && step > 0) {
                        long[] prev = generated.get(step - 1);
                        NDArray ids = sm.create(prev, new Shape(b, 1));
                        long[] pos = new long[b];
                        for (int r = 0; r < b; r++) {
                            pos[r] = lastPos[r] + step;
                        }
                        NDArray h = lm.embed(ids);
                        NDArray out = lm.forward(h, sm.ones(new Shape(b, 1), DataType.INT64), sm.create(pos, new Shape(b, 1)),
                                cache, layout);
                        last = out;
                    } else {
                        // whole sequence: the prefix, then every token generated so far
                        int total = len + step;
                        NDArray h = prefix;
                        long[] m = new long[b * total];
                        for (int r = 0; r < b; r++) {
                            System.arraycopy(maskHost, r * len, m, r * total, len);
                            Arrays.fill(m, r * total + len, (r + 1) * total, 1L);
                        }
                        if (step > 0) {
                            long[] genIds = new long[b * step];
                            for (int s = 0; s < step; s++) {
                                for (int r = 0; r < b; r++) {
                                    genIds[r * step + s] = generated.get(s)[r];
                                }
                            }
                            NDArray ge = lm.embed(sm.create(genIds, new Shape(b, step)));
                            h = prefix.concat(ge, 1);
                        }
                        NDArray maskArr = sm.create(m, new Shape(b, total));
                        NDArray positions = positions(sm, m, b, total);
                        NDArray out = lm.forward(h, maskArr, positions, cache, layout);
                        last = out.get(new NDIndex(":, -1:, :"));
                    }
                    if (!cfg.doSample() && !cfg.recordLogits()) {
                        // the choice is made on the device: b token ids come back, not b x vocab logits
                        try (NDArray flat = last.reshape(b, last.getShape().get(2));
                                NDArray ids = Torch.argmax(flat, 1, false)) {
                            greedy = ids.toLongArray();
                        }
                    } else {
                        logits = rows(last);
                    }
                }
                if (cfg.recordLogits()) {
                    stepLogits.add(logits);
                }
                long[] next = new long[b];
                boolean[] before = finished.clone();
                for (int r = 0; r < b; r++) {
                    if (finished[r]) {
                        next[r] = cfg.padId();
                        continue;
                    }
                    next[r] = greedy != null ? greedy[r]
                            : cfg.doSample() ? Sampling.sample(logits[r], cfg, rng) : Sampling.argmax(logits[r]);
                    lengths[r]++;
                    if (cfg.stopTokens().contains(next[r])) {
                        finished[r] = true;
                    }
                }
                generated.add(next);
                steps++;
                if (listener != null) {
                    listener.onStep(step, next.clone(), before);
                }
                boolean all = true;
                for (boolean f : finished) {
                    all &= f;
                }
                if (all) {
                    break;
                }
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        List<long[]> out = new ArrayList<>(b);
        for (int r = 0; r < b; r++) {
            long[] row = new long[lengths[r]];
            for (int s = 0; s < lengths[r]; s++) {
                row[s] = generated.get(s)[r];
            }
            out.add(row);
        }
        return new GenerationResult(out, stepLogits, steps);
    }

    /** HF's generation positions: {@code cumsum(mask) - 1}, padding positions set to 1. */
    static NDArray positions(NDManager m, long[] mask, int b, int t) {
        long[] pos = new long[b * t];
        for (int r = 0; r < b; r++) {
            long c = 0;
            for (int i = 0; i < t; i++) {
                c += mask[r * t + i];
                pos[r * t + i] = mask[r * t + i] == 0 ? 1 : c - 1;
            }
        }
        return m.create(pos, new Shape(b, t));
    }

    private static float[][] rows(NDArray last) {
        int b = (int) last.getShape().get(0);
        int v = (int) last.getShape().get(2);
        float[] flat = Torch.toFloatArray(Torch.dtype(last) == ScalarType.FLOAT32 ? last : Torch.to(last, ScalarType.FLOAT32));
        float[][] out = new float[b][];
        for (int r = 0; r < b; r++) {
            out[r] = Arrays.copyOfRange(flat, r * v, (r + 1) * v);
        }
        return out;
    }

    private static Device device(LanguageModel lm) {
        return lm.module().namedParameters().values().iterator().next().get().getDevice();
    }
}
