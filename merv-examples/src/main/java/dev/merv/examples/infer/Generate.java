package dev.merv.examples.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.torch.Torch;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.llm.generate.GenerationResult;
import dev.merv.llm.generate.Generator;
import dev.merv.llm.generate.TextStreamer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The reference's quick start (merv-reference.md §8.1): the user message rendered as the LLM's
 * inference prompt, tokenised with special tokens, the media's visual tokens spliced after BOS, then
 * greedy or sampled decoding with a KV cache, streamed token by token.
 */
public final class Generate {

    private Generate() {}

    /** Answers {@code userMessage} about {@code media} (null = text only); {@code sink} receives the text as it grows. */
    public static String answer(Merv merv, Path media, String userMessage, GenerationConfig cfg, Consumer<String> sink)
            throws Exception {
        Tokenizer tok = merv.llm().text().tokenizer();
        String prompt = merv.llm().text().inferencePrompt(userMessage);
        long[] ids = tok.encode(prompt, true);
        try (NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            NDArray inputIds = m.create(ids, new Shape(1, ids.length));
            NDArray mask = m.ones(new Shape(1, ids.length), DataType.BOOLEAN);
            long[] lab = new long[ids.length];
            Arrays.fill(lab, MervBatch.IGNORE_INDEX);
            NDArray labels = m.create(lab, new Shape(1, ids.length));
            List<NDArray> pixels = media == null ? List.of() : MediaInputs.pixels(merv, media, m);
            MervBatch batch = new MervBatch(inputIds, mask, labels, pixels, media == null ? new int[0] : new int[] {0},
                    new boolean[] {false}, 0, m.newSubManager());
            SplicedInputs in = merv.splice(batch);
            TextStreamer streamer = new TextStreamer(tok, 0, sink);
            GenerationResult r = Generator.generateFromEmbeddings(merv.llm(), in.embeddings(), in.attentionMask(), cfg, streamer);
            return tok.decode(r.tokens().get(0), true).strip();
        }
    }

    /** Greedy decoding stopping at EOS, as the reference's evaluation scripts. */
    public static GenerationConfig greedy(Merv merv, int maxNewTokens) {
        Tokenizer tok = merv.llm().text().tokenizer();
        return GenerationConfig.greedy(maxNewTokens, Set.of(tok.eosId()), tok.padId());
    }
}
