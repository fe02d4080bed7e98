package dev.merv.data.batch;

import dev.merv.core.train.MervMicroBatch;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.MervBatch;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.data.text.LengthMeasure;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The loader of merv: random-access micro-batches over a Video-LLaVA dataset for the trainer. The stage's
 * sampler gives each rank's row order per epoch (deterministic from seed and epoch), so micro-batch
 * {@code (epoch, step, rank, micro)} is built directly from its rows: a resumed run decodes nothing it
 * skips (W12). Rows are decoded and transformed in parallel on a bounded pool.
 *
 * <p>A row that fails (missing, corrupt, empty, unreadable, malformed, outside the root, timeout) is
 * dropped from its micro-batch, logged with its file and entry, and counted; the rest of the micro-batch
 * trains. Only when every row of a micro-batch fails does the next loadable row of the rank's epoch order
 * stand in (bounded to {@value #MAX_REPLACEMENT_TRIES} tries, logged), since an empty micro-batch cannot
 * step: deterministic, never a random row as the reference's replacement is (W14).
 *
 * <p>Each replica's next micro-batch is prepared ahead ({@link #prefetch}): decoded, transformed and collated
 * into host tensors (pinned memory on a GPU machine) on a preparing thread while the current one trains, then
 * uploaded without blocking on the replica's thread when it is loaded. What a micro-batch holds does not depend
 * on whether it was prepared ahead (rows and transforms are seeded by row and epoch), and its skipped rows are
 * logged only when it is loaded.
 *
 * <p>With a frozen-feature cache ({@link CacheLookup}) each row's clip is looked up before it is decoded;
 * rows whose every encoder hits are not decoded at all, and each micro-batch counts its look-ups and hits.
 */
public final class MervBatchSource implements BatchSource<MervMicroBatch>, AutoCloseable {

    /** How the finetune sampler measures row length. */
    public enum Lengths {
        /** The reference: whitespace words, multimodal rows +576 when picking the first batch. */
        WORDS,
        /** W17 fix: text tokens plus the model's visual tokens for multimodal rows. */
        TOKENS
    }

    /**
     * Loader settings (batch sizes, replicas and ranks come from the trainer's {@link BatchPlan}).
     *
     * @param seed sampler and transform seed (the reference's global seed, 7)
     * @param threads rows decoded and transformed in parallel
     * @param maxLength llm_max_length (2048)
     * @param lengths how the finetune sampler measures rows (W17)
     * @param visualTokens visual tokens per multimodal row (for TOKENS lengths; 1024 for merv-base)
     * @param visualBudget {@link SampleText}'s W6 option (0 = the reference's truncation)
     * @param maskMode attention mask from lengths (default, W5 fix) or the reference's id != pad
     * @param training transforms get a random stream (LanguageBind's training flip)
     * @param decoder decoder options (timeout)
     * @param excluded rows to leave out (e.g. those a {@code data check} report lists); may be empty
     * @param pixelDtype the dtype pixels travel in ({@link Collator}): the encoders' compute dtype
     */
    public record Options(long seed, int threads, int maxLength, Lengths lengths, int visualTokens, int visualBudget,
            Collator.MaskMode maskMode, boolean training, VideoDecoder.Options decoder, Set<Integer> excluded,
            ScalarType pixelDtype) {

        public Options {
            excluded = Set.copyOf(excluded);
        }

        /** Training defaults: token lengths, masks from lengths, training transforms, 2 threads, no exclusions, fp32 pixels. */
        public static Options defaults(long seed, int maxLength, int visualTokens) {
            return new Options(seed, 2, maxLength, Lengths.TOKENS, visualTokens, 0, Collator.MaskMode.LENGTHS, true,
                    VideoDecoder.Options.defaults(), Set.of(), ScalarType.FLOAT32);
        }

        public Options withThreads(int n) {
            return new Options(seed, n, maxLength, lengths, visualTokens, visualBudget, maskMode, training, decoder, excluded,
                    pixelDtype);
        }

        public Options withLengths(Lengths l) {
            return new Options(seed, threads, maxLength, l, visualTokens, visualBudget, maskMode, training, decoder, excluded,
                    pixelDtype);
        }

        public Options withDecoder(VideoDecoder.Options d) {
            return new Options(seed, threads, maxLength, lengths, visualTokens, visualBudget, maskMode, training, d, excluded,
                    pixelDtype);
        }

        public Options withExcluded(Set<Integer> rows) {
            return new Options(seed, threads, maxLength, lengths, visualTokens, visualBudget, maskMode, training, decoder, rows,
                    pixelDtype);
        }

        public Options withTraining(boolean t) {
            return new Options(seed, threads, maxLength, lengths, visualTokens, visualBudget, maskMode, t, decoder, excluded,
                    pixelDtype);
        }

        /** Pixels sent as {@code dtype} (bf16 when the encoders compute in bf16: exact, half the bytes). */
        public Options withPixelDtype(ScalarType dtype) {
            return new Options(seed, threads, maxLength, lengths, visualTokens, visualBudget, maskMode, training, decoder, excluded,
                    dtype);
        }
    }

    private final VideoLlavaDataset dataset;
    private final SampleBuilder builder;
    private final Collator collator;
    private final SampleText text;
    private final Options options;
    private final SkipLog skips;
    private final ExecutorService pool;
    private final Map<Long, EpochSampler> samplers = new ConcurrentHashMap<>();
    private final Map<String, int[]> orders = new ConcurrentHashMap<>();
    private final ExecutorService prefetcher;
    /** Per rank: the micro-batch being prepared ahead, if any. */
    private final Map<Integer, Pending> ahead = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** Where a micro-batch sits in the run, and how the plan cuts it (a hint for another plan is never used). */
    private record Position(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan) {}

    /** A micro-batch collated on the host, with the rows it dropped (logged only when it is consumed). */
    private record Prepared(Collator.HostBatch host, List<Skip> skips, int skipped, int[] rows) {}

    private record Pending(Position position, CompletableFuture<Prepared> future) {

        /** Frees the prepared batch whenever it is ready (a hint that was not followed). */
        void discard() {
            future.thenAccept(p -> p.host().close());
        }
    }

    public MervBatchSource(VideoLlavaDataset dataset, TextPipeline pipeline, List<EncoderInput> encoders, Options options,
            SkipLog skips) {
        this(dataset, pipeline, encoders, options, skips, null);
    }

    /** @param cache the frozen-feature cache to look clips up in first and to store computed features in (null: none) */
    public MervBatchSource(VideoLlavaDataset dataset, TextPipeline pipeline, List<EncoderInput> encoders, Options options,
            SkipLog skips, CacheLookup cache) {
        this.dataset = dataset;
        this.options = options;
        this.skips = skips;
        this.text = new SampleText(pipeline, dataset.stage(), options.maxLength(), options.visualBudget());
        this.builder = new SampleBuilder(dataset, text, encoders, new VideoDecoder(options.decoder()),
                new SampleBuilder.Options(options.seed(), options.training(), true), cache);
        this.collator = new Collator(pipeline.tokenizer().padId(), options.maxLength(), encoders, options.maskMode(),
                options.pixelDtype(), cache);
        int threads = Math.max(1, options.threads());
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "merv-data");
            t.setDaemon(true);
            return t;
        });
        // one preparing thread per replica at most (each keeps one micro-batch ahead); separate from the row
        // pool, whose jobs a preparation waits for
        this.prefetcher = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "merv-prefetch");
            t.setDaemon(true);
            return t;
        });
    }

    public SkipLog skips() {
        return skips;
    }

    /** Media files decoded so far (a clip the feature cache holds for every encoder is not decoded). */
    public long decodes() {
        return builder.decodes();
    }

    /**
     * The stage's sampler for rank {@code rank} of the plan's replicas: shuffled rows for align stages,
     * the split-modality length-grouped sampler for finetune stages (word or token lengths, W17); malformed
     * rows and excluded ones are left out up front.
     */
    private EpochSampler sampler(int rank, BatchPlan plan) {
        long key = ((long) plan.replicas() << 32) | rank;
        return samplers.computeIfAbsent(key, k -> {
            int[] rows = Arrays.stream(dataset.wellFormedRows(skips)).filter(i -> !options.excluded().contains(i)).toArray();
            if (!dataset.stage().usesSplitModalitySampler()) {
                return new ShuffleSampler(rows, options.seed(), plan.replicas(), rank);
            } else if (options.lengths() == Lengths.WORDS) {
                return new SplitModalitySampler(rows, dataset.multimodalFlags(), LengthMeasure.WORDS.lengths(dataset),
                        plan.globalBatch(), plan.replicas(), rank, options.seed(), 576);
            }
            int[] len = LengthMeasure.withVisualTokens(LengthMeasure.tokens(text), options.visualTokens()).lengths(dataset);
            return new SplitModalitySampler(rows, dataset.multimodalFlags(), len, plan.globalBatch(), plan.replicas(), rank,
                    options.seed(), 0);
        });
    }

    private int[] order(int rank, int epoch, BatchPlan plan) {
        return orders.computeIfAbsent(plan.replicas() + "/" + rank + "/" + epoch, k -> sampler(rank, plan).order(epoch));
    }

    /**
     * The dataset rows of micro-batch {@code (epoch, stepInEpoch, rank, micro)} in the sampler's order, before
     * any row that fails to load is dropped.
     */
    public int[] rows(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan) {
        int[] order = order(rank, epoch, plan);
        long start = stepInEpoch * plan.perReplica() + (long) micro * plan.perDeviceBatch();
        int n = (int) Math.max(0, Math.min(plan.perDeviceBatch(), order.length - start));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = order[(int) (start + i)];
        }
        return out;
    }

    @Override
    public long stepsPerEpoch(int epoch, BatchPlan plan) {
        return order(0, epoch, plan).length / plan.perReplica();
    }

    @Override
    public void prefetch(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan) {
        if (closed) {
            return;
        }
        Position at = new Position(epoch, stepInEpoch, rank, micro, plan);
        if (stepInEpoch >= stepsPerEpoch(epoch, plan)) {
            return; // past the data: nothing to prepare
        }
        Pending next = new Pending(at, CompletableFuture.supplyAsync(() -> prepare(at), prefetcher));
        Pending previous = ahead.put(rank, next);
        if (previous != null) {
            previous.discard();
        }
    }

    @Override
    public MervMicroBatch load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager) {
        Position at = new Position(epoch, stepInEpoch, rank, micro, plan);
        Prepared p = null;
        Pending pending = ahead.get(rank);
        if (pending != null && pending.position().equals(at) && ahead.remove(rank, pending)) {
            try {
                p = pending.future().join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException("preparing a micro-batch failed", e.getCause());
            }
        }
        if (p == null) {
            p = prepare(at);
        }
        try (Collator.HostBatch host = p.host()) {
            p.skips().forEach(skips::add);
            MervBatch batch = collator.upload(host, manager);
            long lookups = host.frozen() == null ? 0 : host.frozen().lookups();
            long hits = host.frozen() == null ? 0 : host.frozen().hits();
            return new MervMicroBatch(batch, p.skipped(), p.rows(), lookups, hits);
        }
    }

    /** Decodes, transforms and collates micro-batch {@code at} on the host (row jobs on the pool). */
    private Prepared prepare(Position at) {
        int epoch = at.epoch();
        long stepInEpoch = at.stepInEpoch();
        int rank = at.rank();
        int micro = at.micro();
        BatchPlan plan = at.plan();
        int[] order = order(rank, epoch, plan);
        long start = stepInEpoch * plan.perReplica() + (long) micro * plan.perDeviceBatch();
        List<Future<Object>> jobs = new ArrayList<>();
        for (int row : rows(epoch, stepInEpoch, rank, micro, plan)) {
            jobs.add(pool.submit(() -> {
                try {
                    return builder.build(row, epoch);
                } catch (SampleException e) {
                    return new Skip(row, dataset.jsonName(), dataset.rawMediaPath(row), e.reason(), e.getMessage());
                }
            }));
        }
        List<Sample> samples = new ArrayList<>();
        List<Integer> loadedRows = new ArrayList<>();
        List<Skip> dropped = new ArrayList<>();
        for (Future<Object> f : jobs) {
            Object r;
            try {
                r = f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while loading a micro-batch", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("loading a sample failed unexpectedly", e.getCause());
            }
            if (r instanceof Sample s) {
                samples.add(s);
                loadedRows.add(s.index());
            } else {
                dropped.add((Skip) r);
            }
        }
        int skipped = dropped.size();
        List<Skip> log = new ArrayList<>(dropped);
        if (samples.isEmpty()) {
            // An empty micro-batch cannot step (per-device batch 1 and one bad file would stop the run):
            // take the next loadable row of this rank's epoch order instead -- deterministic, bounded and
            // logged, never a random one (W14).
            Sample s = replacement(order, start + plan.perDeviceBatch(), epoch, stepInEpoch, rank, micro, log);
            samples.add(s);
            loadedRows.add(s.index());
        }
        Collator.HostBatch host = collator.collateHost(samples);
        // skipped counts the batch's own rows that failed; the log also names failed replacement tries
        return new Prepared(host, log, skipped, loadedRows.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Maximum rows tried after a micro-batch whose every row failed. */
    static final int MAX_REPLACEMENT_TRIES = 64;

    private Sample replacement(int[] order, long from, int epoch, long stepInEpoch, int rank, int micro, List<Skip> log) {
        for (int k = 0; k < Math.min(MAX_REPLACEMENT_TRIES, order.length); k++) {
            int row = order[(int) ((from + k) % order.length)];
            try {
                Sample s = builder.build(row, epoch);
                org.slf4j.LoggerFactory.getLogger(MervBatchSource.class).warn(
                        "micro-batch (epoch {}, step {}, rank {}, micro {}): every row failed; using row {} instead",
                        epoch, stepInEpoch, rank, micro, row);
                return s;
            } catch (SampleException e) {
                log.add(new Skip(row, dataset.jsonName(), dataset.rawMediaPath(row), e.reason(), e.getMessage()));
            }
        }
        log.forEach(skips::add); // the run stops here: keep what was tried in the skip log
        throw new IllegalStateException("micro-batch (epoch " + epoch + ", step " + stepInEpoch + ", rank " + rank
                + ", micro " + micro + "): every row failed and so did the next " + MAX_REPLACEMENT_TRIES
                + " rows of the epoch order; the dataset looks broken (run ./merv data check; see the skip log)");
    }

    @Override
    public void close() {
        closed = true;
        ahead.values().forEach(Pending::discard);
        ahead.clear();
        prefetcher.shutdownNow();
        pool.shutdownNow();
    }
}
