package dev.merv.data.text;

import dev.merv.data.check.SampleException;
import dev.merv.data.videollava.Entry;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.util.stream.IntStream;

/**
 * Per-row lengths for the length-grouped sampler. The reference groups by whitespace word counts
 * ({@link #WORDS}, parity); W17's fix groups by the row's real token count ({@link #tokens}), which
 * is what the padded batch actually costs. Malformed rows get length 0 (they are never sampled).
 */
public interface LengthMeasure {

    int[] lengths(VideoLlavaDataset dataset);

    /** The reference's measure: total whitespace-separated words over all turns. */
    LengthMeasure WORDS = ds -> {
        int[] out = new int[ds.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ds.wellFormed(i) ? ds.wordCount(i) : 0;
        }
        return out;
    };

    /**
     * Token counts through the LLM's text pipeline (tokenised in parallel on the common pool; the
     * pipeline must be thread-safe). Rows the pipeline rejects get 0.
     */
    static LengthMeasure tokens(SampleText text) {
        return ds -> IntStream.range(0, ds.size()).parallel().map(i -> {
            if (!ds.wellFormed(i)) {
                return 0;
            }
            try {
                Entry e = ds.entry(i);
                return text.encodeUncounted(e).length();
            } catch (SampleException ex) {
                return 0;
            }
        }).toArray();
    }

    /**
     * {@code measure}'s lengths with {@code visualTokens} added to every multimodal row: the
     * sequence length the model actually processes (W17's fix; use {@code multimodalExtra = 0} in
     * the sampler with these).
     */
    static LengthMeasure withVisualTokens(LengthMeasure measure, int visualTokens) {
        return ds -> {
            int[] out = measure.lengths(ds);
            for (int i = 0; i < out.length; i++) {
                if (ds.multimodal(i)) {
                    out[i] += visualTokens;
                }
            }
            return out;
        };
    }
}
