package dev.merv.llm.prompt;

import dev.merv.core.catalog.PromptFormat;
import dev.merv.core.text.EncodedText;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.text.Turn;
import dev.merv.llm.HfTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Conversation encoding exactly as the reference's datasets do it (docs/reference.md §4.3-4.4).
 *
 * <p>Finetune: every turn's string from the prompt builder is right-stripped and tokenised on its own,
 * special tokens (BOS) only on turn 0; human-turn tokens get label -100, gpt-turn tokens (their closing
 * {@code </s>}/{@code <|eot_id|>}/{@code <|im_end|>} included) are supervised; then truncation to
 * {@code maxLength} and, for rows with media, {@code labels[0] = -100}.
 *
 * <p>Align: the gpt turn stripped plus the EOS token's text, tokenised with special tokens, every token
 * supervised but the first.
 *
 * <p>Consequences kept for parity (W4): the Llama 3.1 / Qwen2 system prompts never reach training
 * sequences and the newlines after their assistant header are stripped in training but not in
 * {@link #inferencePrompt}.
 */
public final class ReferenceTextPipeline implements TextPipeline {

    private static final long IGNORE = -100;

    private final HfTokenizer tokenizer;
    private final PromptFormat format;
    private final PromptQuirks quirks;

    public ReferenceTextPipeline(HfTokenizer tokenizer, PromptFormat format, PromptQuirks quirks) {
        this.tokenizer = tokenizer;
        this.format = format;
        this.quirks = quirks;
    }

    public ReferenceTextPipeline(HfTokenizer tokenizer, PromptFormat format) {
        this(tokenizer, format, PromptQuirks.PARITY);
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public PromptFormat format() {
        return format;
    }

    public PromptBuilder newBuilder() {
        return PromptBuilder.of(format, quirks);
    }

    @Override
    public List<String> renderTurns(List<Turn> turns) {
        PromptBuilder b = newBuilder();
        List<String> out = new ArrayList<>(turns.size());
        for (Turn t : turns) {
            out.add(b.addTurn(t.from(), t.value()));
        }
        return out;
    }

    /** Per-turn ids (after the rstrip; special tokens on turn 0 only), before concatenation. */
    public List<long[]> encodeTurns(List<Turn> turns) {
        List<String> msgs = renderTurns(turns);
        List<long[]> out = new ArrayList<>(msgs.size());
        for (int i = 0; i < msgs.size(); i++) {
            out.add(tokenizer.encode(PyText.rstrip(msgs.get(i)), i == 0));
        }
        return out;
    }

    @Override
    public EncodedText encodeConversation(List<Turn> turns, boolean hasMedia, int maxLength) {
        List<long[]> perTurn = encodeTurns(turns);
        int n = perTurn.stream().mapToInt(a -> a.length).sum();
        long[] ids = new long[n];
        long[] labels = new long[n];
        int at = 0;
        for (int i = 0; i < perTurn.size(); i++) {
            long[] t = perTurn.get(i);
            System.arraycopy(t, 0, ids, at, t.length);
            if (i % 2 == 0) {
                Arrays.fill(labels, at, at + t.length, IGNORE);
            } else {
                System.arraycopy(t, 0, labels, at, t.length);
            }
            at += t.length;
        }
        int len = Math.min(n, maxLength);
        ids = Arrays.copyOf(ids, len);
        labels = Arrays.copyOf(labels, len);
        if (hasMedia && len > 0) {
            labels[0] = IGNORE;
        }
        return new EncodedText(ids, labels);
    }

    @Override
    public EncodedText encodeCaption(List<Turn> turns, int maxLength) {
        if (turns.size() != 2) {
            throw new IllegalArgumentException("align-stage rows need exactly 2 turns, got " + turns.size());
        }
        String caption = turns.get(1).value();
        if (caption.contains("<image>") || caption.contains("<video>")) {
            throw new IllegalArgumentException("align-stage caption (gpt turn) contains a media placeholder: " + caption);
        }
        long[] ids = tokenizer.encode(PyText.strip(caption) + tokenizer.eosToken(), true);
        ids = Arrays.copyOf(ids, Math.min(ids.length, maxLength));
        long[] labels = ids.clone();
        if (labels.length > 0) {
            labels[0] = IGNORE;
        }
        return new EncodedText(ids, labels);
    }

    @Override
    public String inferencePrompt(String userMessage) {
        PromptBuilder b = newBuilder();
        b.addTurn("human", userMessage);
        return b.getPrompt();
    }
}
