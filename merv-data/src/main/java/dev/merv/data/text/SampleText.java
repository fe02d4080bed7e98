package dev.merv.data.text;

import dev.merv.core.text.EncodedText;
import dev.merv.core.text.TextPipeline;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.videollava.Entry;
import dev.merv.core.config.Stage;

/**
 * Tokenises and masks one row through the LLM's {@link TextPipeline}: finetune rows with
 * {@link TextPipeline#encodeConversation} (docs/reference.md §4.3), align rows with
 * {@link TextPipeline#encodeCaption} (docs/reference.md §4.4).
 *
 * <p>Truncation is to {@code maxLength} text tokens as the reference does, before the visual tokens
 * are added (W6: the model then sees up to {@code maxLength + visual} positions, and a long
 * conversation can lose its answer). {@link #visualBudget} is the named fix: when positive,
 * multimodal rows are truncated to {@code maxLength - visualBudget} so the spliced sequence fits
 * {@code maxLength}. {@link #truncatedRows()} counts rows the truncation cut.
 */
public final class SampleText {

    private final TextPipeline pipeline;
    private final Stage stage;
    private final int maxLength;
    private final int visualBudget;
    private final java.util.concurrent.atomic.AtomicLong truncated = new java.util.concurrent.atomic.AtomicLong();

    public SampleText(TextPipeline pipeline, Stage stage, int maxLength, int visualBudget) {
        if (maxLength <= 0) {
            throw new IllegalArgumentException("llm_max_length must be positive, got " + maxLength);
        }
        if (visualBudget < 0 || visualBudget >= maxLength) {
            throw new IllegalArgumentException("visual budget " + visualBudget + " must be in [0, llm_max_length "
                    + maxLength + ")");
        }
        this.pipeline = pipeline;
        this.stage = stage;
        this.maxLength = maxLength;
        this.visualBudget = visualBudget;
    }

    /** Reference behaviour: truncate text to {@code maxLength}, visual tokens on top. */
    public SampleText(TextPipeline pipeline, Stage stage, int maxLength) {
        this(pipeline, stage, maxLength, 0);
    }

    public TextPipeline pipeline() {
        return pipeline;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Text-token limit for a row. */
    public int limit(boolean hasMedia) {
        return hasMedia ? maxLength - visualBudget : maxLength;
    }

    public EncodedText encode(Entry e) throws SampleException {
        EncodedText t = encodeUncounted(e);
        if (t.length() >= limit(e.hasMedia())) {
            truncated.incrementAndGet();
        }
        return t;
    }

    /** {@link #encode} without counting truncation (for length measuring passes). */
    public EncodedText encodeUncounted(Entry e) throws SampleException {
        int limit = limit(e.hasMedia());
        EncodedText t;
        try {
            t = stage.isAlign() ? pipeline.encodeCaption(e.turns(), limit)
                    : pipeline.encodeConversation(e.turns(), e.hasMedia(), limit);
        } catch (RuntimeException ex) {
            throw new SampleException(SkipReason.MALFORMED_ENTRY, "entry " + e.index() + ": text pipeline rejected the row: "
                    + ex.getMessage(), ex);
        }
        return t;
    }

    /** Rows whose encoded length reached the limit (possibly cut). */
    public long truncatedRows() {
        return truncated.get();
    }
}
