package dev.merv.core.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The LLM backbone ids merv knows (merv-reference.md §4.1, plus the tiny test LLMs of the fixtures)
 * and their hidden width. The implementations live in {@code merv-llm}.
 */
public final class LlmCatalog {

    public static final String TINY_LLAMA3 = "llama3-tiny";

    /** merv-tiny's LLM: a random Llama-2-style decoder of width 64 with the real Llama-2 tokenizer. */
    public static final String TINY_LLAMA2 = "llama2-tiny-pure";

    private static final Map<String, Integer> DIMS = new LinkedHashMap<>();

    static {
        DIMS.put("llama2-7b-pure", 4096);
        DIMS.put("llama2-13b-pure", 5120);
        DIMS.put("llama2-7b-chat", 4096);
        DIMS.put("llama2-13b-chat", 5120);
        DIMS.put("vicuna-v15-7b", 4096);
        DIMS.put("vicuna-v15-13b", 5120);
        DIMS.put("llama3-8b-pure", 4096);
        DIMS.put("llama3-8b-chat", 4096);
        DIMS.put("llama3.1-8b-chat", 4096);
        DIMS.put("qwen2.5-7b-instruct", 3584);
        DIMS.put("qwen2.5-3b-instruct", 2048);
        // tiny random LLMs with the fixtures' dimensions (llama3-tiny = merv-forward-tiny's llm_backbone)
        DIMS.put(TINY_LLAMA3, 64);
        DIMS.put(TINY_LLAMA2, 64);
        DIMS.put("llama2-tiny", 0);
        DIMS.put("qwen2-tiny", 0);
    }

    private LlmCatalog() {}

    public static Set<String> ids() {
        return Collections.unmodifiableSet(DIMS.keySet());
    }

    public static boolean isKnown(String id) {
        return DIMS.containsKey(id);
    }

    /** Hidden width when known before building (0 entries are resolved by the LLM module). */
    public static OptionalInt embedDim(String id) {
        Integer d = DIMS.get(id);
        return d == null || d == 0 ? OptionalInt.empty() : OptionalInt.of(d);
    }
}
