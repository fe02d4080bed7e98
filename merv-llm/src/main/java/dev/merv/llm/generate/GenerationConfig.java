package dev.merv.llm.generate;

import java.util.Set;

/**
 * Decoding settings, HF {@code generate} semantics: greedy unless {@code doSample}; when sampling, logits go
 * through temperature, then top-k, then top-p (HF's warper order) before a multinomial draw from a
 * {@code seed}ed generator. A row stops at its first stop token (kept in its output); finished rows are
 * filled with {@code padId} while others continue.
 *
 * @param topK 0 = off
 * @param topP 1.0 = off
 * @param useCache decode incrementally with a KV cache (false: recompute the whole sequence every step)
 * @param recordLogits keep each step's last-position logits in the result (tests, debugging)
 */
public record GenerationConfig(int maxNewTokens, boolean doSample, double temperature, int topK, double topP,
        Set<Long> stopTokens, long padId, long seed, boolean useCache, boolean recordLogits) {

    public GenerationConfig {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
        }
        if (doSample && !(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0 when sampling, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        stopTokens = Set.copyOf(stopTokens);
    }

    /** The reference's evaluation setting: greedy, {@code max_new_tokens} 512 there. */
    public static GenerationConfig greedy(int maxNewTokens, Set<Long> stopTokens, long padId) {
        return new GenerationConfig(maxNewTokens, false, 1.0, 0, 1.0, stopTokens, padId, 0, true, false);
    }

    /** Sampling with temperature (the README's quick start uses 0.4), optional top-k / top-p. */
    public static GenerationConfig sampling(int maxNewTokens, double temperature, int topK, double topP, long seed,
            Set<Long> stopTokens, long padId) {
        return new GenerationConfig(maxNewTokens, true, temperature, topK, topP, stopTokens, padId, seed, true, false);
    }

    public GenerationConfig withCache(boolean on) {
        return new GenerationConfig(maxNewTokens, doSample, temperature, topK, topP, stopTokens, padId, seed, on,
                recordLogits);
    }

    public GenerationConfig withRecordLogits(boolean on) {
        return new GenerationConfig(maxNewTokens, doSample, temperature, topK, topP, stopTokens, padId, seed, useCache,
                on);
    }
}
