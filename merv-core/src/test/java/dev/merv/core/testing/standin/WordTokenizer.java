package dev.merv.core.testing.standin;

import dev.merv.core.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Test stand-in tokenizer: whitespace words hashed into ids 10..999, {@code </s>} recognised as
 * EOS (2) even when glued to a word, BOS 1, pad {@value #PAD}.
 */
public final class WordTokenizer implements Tokenizer {

    public static final long BOS = 1;
    public static final long EOS = 2;
    public static final long PAD = 3;

    @Override
    public long[] encode(String text, boolean addSpecialTokens) {
        List<Long> ids = new ArrayList<>();
        if (addSpecialTokens) {
            ids.add(BOS);
        }
        for (String w : text.replace("</s>", " </s> ").trim().split("\\s+")) {
            if (w.isEmpty()) {
                continue;
            }
            ids.add(w.equals("</s>") ? EOS : 10 + Math.floorMod(w.hashCode(), 990));
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return "<" + ids.length + " ids>";
    }

    @Override
    public OptionalLong bosId() {
        return OptionalLong.of(BOS);
    }

    @Override
    public long eosId() {
        return EOS;
    }

    @Override
    public long padId() {
        return PAD;
    }

    @Override
    public OptionalLong tokenToId(String token) {
        return token.equals("</s>") ? OptionalLong.of(EOS) : OptionalLong.empty();
    }

    @Override
    public int vocabSize() {
        return 1000;
    }
}
