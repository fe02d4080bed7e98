package dev.merv.llm.generate;

import dev.merv.core.text.Tokenizer;
import java.util.function.Consumer;

/**
 * Streams one row's answer as text: decodes everything generated so far (special tokens skipped) and hands on
 * the part not printed yet, holding back while the text ends in an incomplete UTF-8 sequence.
 */
public final class TextStreamer implements TokenListener {

    private final Tokenizer tokenizer;
    private final Consumer<String> sink;
    private final int row;
    private long[] ids = new long[0];
    private String printed = "";

    public TextStreamer(Tokenizer tokenizer, int row, Consumer<String> sink) {
        this.tokenizer = tokenizer;
        this.row = row;
        this.sink = sink;
    }

    @Override
    public void onStep(int step, long[] tokens, boolean[] finished) {
        if (finished[row]) {
            return;
        }
        ids = java.util.Arrays.copyOf(ids, ids.length + 1);
        ids[ids.length - 1] = tokens[row];
        String text = tokenizer.decode(ids, true);
        if (text.endsWith("\uFFFD")) {
            return;
        }
        if (text.startsWith(printed) && text.length() > printed.length()) {
            sink.accept(text.substring(printed.length()));
            printed = text;
        }
    }

    /** Everything streamed so far. */
    public String text() {
        return printed;
    }
}
