package dev.merv.core.testing.standin;

import dev.merv.core.text.EncodedText;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.text.Turn;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Test stand-in for the LLM module's pipeline: the reference's Pure prompt format
 * (docs/reference.md §4.2) with per-turn tokenisation and masking (docs/reference.md §4.3) and the align caption
 * encoding (docs/reference.md §4.4) over {@link WordTokenizer}.
 */
public final class PureTextPipeline implements TextPipeline {

    private final WordTokenizer tokenizer = new WordTokenizer();

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public List<String> renderTurns(List<Turn> turns) {
        List<String> out = new ArrayList<>();
        for (Turn t : turns) {
            String msg = t.value().replace("<image>", "").strip();
            out.add(t.human() ? "In: " + msg + "\nOut: " : (msg.isEmpty() ? " " : msg) + "</s>");
        }
        return out;
    }

    @Override
    public EncodedText encodeConversation(List<Turn> turns, boolean hasMedia, int maxLength) {
        List<String> rendered = renderTurns(turns);
        long[] ids = new long[0];
        long[] labels = new long[0];
        for (int t = 0; t < rendered.size(); t++) {
            long[] part = tokenizer.encode(rendered.get(t).stripTrailing(), t == 0);
            int n = ids.length;
            ids = Arrays.copyOf(ids, n + part.length);
            labels = Arrays.copyOf(labels, n + part.length);
            System.arraycopy(part, 0, ids, n, part.length);
            for (int k = 0; k < part.length; k++) {
                labels[n + k] = t % 2 == 0 ? -100 : part[k];
            }
        }
        ids = Arrays.copyOf(ids, Math.min(ids.length, maxLength));
        labels = Arrays.copyOf(labels, ids.length);
        if (hasMedia && labels.length > 0) {
            labels[0] = -100;
        }
        return new EncodedText(ids, labels);
    }

    @Override
    public EncodedText encodeCaption(List<Turn> turns, int maxLength) {
        long[] ids = tokenizer.encode(turns.get(1).value().strip() + "</s>", true);
        ids = Arrays.copyOf(ids, Math.min(ids.length, maxLength));
        long[] labels = ids.clone();
        labels[0] = -100;
        return new EncodedText(ids, labels);
    }

    @Override
    public String inferencePrompt(String userMessage) {
        return "In: " + userMessage + "\nOut:";
    }
}
