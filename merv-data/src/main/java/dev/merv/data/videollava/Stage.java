package dev.merv.data.videollava;

import java.util.Locale;

/** Training stage: which JSON is read and how rows are tokenised (merv-reference.md §1.4, §4.3-4.4). */
public enum Stage {
    /** Caption-only rows, {@code valley_llavaimage.json}; random shuffle sampler. */
    ALIGN,
    /** Conversations, {@code videochatgpt_llavaimage_tune.json}; split-modality length-grouped sampler. */
    FINETUNE;

    /**
     * Parses a stage name the way the reference dispatches on it: names ending in {@code align}
     * (align, full-align) are align stages, names containing {@code finetune} are finetune stages.
     */
    public static Stage parse(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith("align")) {
            return ALIGN;
        }
        if (n.contains("finetune")) {
            return FINETUNE;
        }
        throw new IllegalArgumentException("stage '" + name + "' is neither an align nor a finetune stage");
    }
}
