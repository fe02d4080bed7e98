package dev.merv.data.batch;

import ai.djl.ndarray.NDManager;
import dev.merv.core.text.TextPipeline;
import dev.merv.data.check.SkipLog;
import dev.merv.data.text.LengthMeasure;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Builds the whole data path for one rank the way the reference wires it (merv-reference.md §5.5):
 * align stages get the shuffle sampler, finetune stages the split-modality length-grouped sampler;
 * malformed rows and rows listed as skipped by an earlier {@code check} are left out up front.
 */
public final class LoaderFactory {

    /** How the finetune sampler measures row length. */
    public enum Lengths {
        /** The reference: whitespace words, multimodal rows +576 when picking the first batch. */
        WORDS,
        /** W17: text tokens plus the model's visual tokens for multimodal rows. */
        TOKENS
    }

    /**
     * @param seed sampler and transform seed (the reference's global seed, 7)
     * @param globalBatch G, the global batch size
     * @param worldSize W, the number of data-parallel ranks
     * @param rank this rank
     * @param microBatch the per-device batch size
     * @param threads loader threads
     * @param prefetchBatches micro-batches built ahead
     * @param maxLength llm_max_length (2048)
     * @param visualTokens visual tokens per multimodal row (for TOKENS lengths; 1024 for merv-base)
     * @param visualBudget {@link SampleText}'s W6 option (0 = reference truncation)
     * @param maskMode attention mask from lengths (default) or the reference's id != pad
     * @param training transforms get a random stream (LanguageBind's flip)
     * @param decoder decoder options (timeout)
     * @param excluded rows to leave out (e.g. from a check report); may be empty
     */
    public record Config(long seed, int globalBatch, int worldSize, int rank, int microBatch, int threads,
            int prefetchBatches, int maxLength, Lengths lengths, int visualTokens, int visualBudget,
            Collator.MaskMode maskMode, boolean training, VideoDecoder.Options decoder, Set<Integer> excluded) {}

    private LoaderFactory() {}

    /**
     * The stage's sampler for rank {@code c.rank()} of {@code c.worldSize()}: shuffled rows for align,
     * the split-modality length-grouped sampler for finetune (word or token lengths, W17).
     */
    public static EpochSampler sampler(VideoLlavaDataset ds, SampleText st, Config c, SkipLog log) {
        int[] rows = Arrays.stream(ds.wellFormedRows(log)).filter(i -> !c.excluded().contains(i)).toArray();
        if (ds.stage() == Stage.ALIGN) {
            return new ShuffleSampler(rows, c.seed(), c.worldSize(), c.rank());
        } else if (c.lengths() == Lengths.WORDS) {
            return new SplitModalitySampler(rows, ds.multimodalFlags(), LengthMeasure.WORDS.lengths(ds), c.globalBatch(),
                    c.worldSize(), c.rank(), c.seed(), 576);
        }
        int[] len = LengthMeasure.withVisualTokens(LengthMeasure.tokens(st), c.visualTokens()).lengths(ds);
        return new SplitModalitySampler(rows, ds.multimodalFlags(), len, c.globalBatch(), c.worldSize(), c.rank(),
                c.seed(), 0);
    }

    public static MervLoader create(VideoLlavaDataset ds, TextPipeline text, List<EncoderInput> encoders, Config c,
            NDManager manager, SkipLog log) {
        if (c.microBatch() <= 0 || (c.globalBatch() / c.worldSize()) % c.microBatch() != 0) {
            throw new IllegalArgumentException("per-device batch " + c.microBatch() + " must divide global batch "
                    + c.globalBatch() + " / world size " + c.worldSize());
        }
        SampleText st = new SampleText(text, ds.stage(), c.maxLength(), c.visualBudget());
        EpochSampler sampler = sampler(ds, st, c, log);
        SampleBuilder builder = new SampleBuilder(ds, st, encoders, new VideoDecoder(c.decoder()),
                new SampleBuilder.Options(c.seed(), c.training(), true));
        Collator collator = new Collator(text.tokenizer().padId(), c.maxLength(), encoders, c.maskMode());
        return new MervLoader(builder, sampler, collator, manager, log,
                new MervLoader.Options(c.microBatch(), c.threads(), c.prefetchBatches(), 300_000_000_000L));
    }
}
