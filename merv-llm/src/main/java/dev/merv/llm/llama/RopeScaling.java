package dev.merv.llm.llama;

/**
 * The {@code rope_scaling} block of a Llama {@code config.json}. Only {@code rope_type: "llama3"} is
 * implemented (Llama 3.1); other types are refused when the config is parsed.
 */
public record RopeScaling(String ropeType, double factor, double lowFreqFactor, double highFreqFactor,
        int originalMaxPositionEmbeddings) {

    /** The Llama 3.1 values ({@code factor 8, low 1, high 4, original 8192}). */
    public static RopeScaling llama31() {
        return new RopeScaling("llama3", 8.0, 1.0, 4.0, 8192);
    }
}
