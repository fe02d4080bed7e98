package dev.merv.examples.train;

import dev.merv.core.train.MervMicroBatch;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.MervBatch;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import dev.merv.data.batch.Collator;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.EpochSampler;
import dev.merv.data.batch.LoaderFactory;
import dev.merv.data.batch.Sample;
import dev.merv.data.batch.SampleBuilder;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Random-access micro-batches over a Video-LLaVA dataset for the trainer: the stage's sampler gives each
 * rank's row order per epoch (deterministic from seed and epoch), so micro-batch {@code (epoch, step,
 * rank, micro)} is built directly from its rows: a resumed run decodes nothing it skips (W12). Rows are
 * decoded and transformed in parallel on a bounded pool. A row that fails is dropped from its micro-batch,
 * logged with its file and entry, and counted; it is never replaced by another row (W14).
 */
public final class MervBatchSource implements BatchSource<MervMicroBatch>, AutoCloseable {

    private final VideoLlavaDataset dataset;
    private final SampleBuilder builder;
    private final Collator collator;
    private final SampleText text;
    private final LoaderFactory.Config base;
    private final SkipLog skips;
    private final ExecutorService pool;
    private final Map<Integer, EpochSampler> samplers = new ConcurrentHashMap<>();
    private final Map<Long, int[]> orders = new ConcurrentHashMap<>();

    /**
     * @param base loader settings; {@code worldSize}/{@code rank} are replaced per replica, {@code threads}
     *     sizes the decode pool
     */
    public MervBatchSource(VideoLlavaDataset dataset, TextPipeline pipeline, List<EncoderInput> encoders,
            LoaderFactory.Config base, SkipLog skips) {
        this.dataset = dataset;
        this.base = base;
        this.skips = skips;
        this.text = new SampleText(pipeline, dataset.stage(), base.maxLength(), base.visualBudget());
        this.builder = new SampleBuilder(dataset, text, encoders, new VideoDecoder(base.decoder()),
                new SampleBuilder.Options(base.seed(), base.training(), true));
        this.collator = new Collator(pipeline.tokenizer().padId(), base.maxLength(), encoders, base.maskMode());
        int threads = Math.max(1, base.threads());
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "merv-data");
            t.setDaemon(true);
            return t;
        });
    }

    public SkipLog skips() {
        return skips;
    }

    private int[] order(int rank, int epoch, BatchPlan plan) {
        EpochSampler s = samplers.computeIfAbsent(rank, r -> LoaderFactory.sampler(dataset, text,
                new LoaderFactory.Config(base.seed(), plan.globalBatch(), plan.replicas(), r, plan.perDeviceBatch(),
                        base.threads(), base.prefetchBatches(), base.maxLength(), base.lengths(), base.visualTokens(),
                        base.visualBudget(), base.maskMode(), base.training(), base.decoder(), base.excluded()),
                skips));
        return orders.computeIfAbsent(((long) rank << 32) | epoch, k -> s.order(epoch));
    }

    @Override
    public long stepsPerEpoch(int epoch, BatchPlan plan) {
        return order(0, epoch, plan).length / plan.perReplica();
    }

    @Override
    public MervMicroBatch load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager) {
        int[] order = order(rank, epoch, plan);
        long start = stepInEpoch * plan.perReplica() + (long) micro * plan.perDeviceBatch();
        List<Future<Object>> jobs = new ArrayList<>();
        for (int i = 0; i < plan.perDeviceBatch(); i++) {
            long at = start + i;
            if (at >= order.length) {
                break;
            }
            int row = order[(int) at];
            jobs.add(pool.submit(() -> {
                try {
                    return builder.build(row, epoch);
                } catch (SampleException e) {
                    return new Skip(row, dataset.jsonName(), dataset.rawMediaPath(row), e.reason(), e.getMessage());
                }
            }));
        }
        List<Sample> samples = new ArrayList<>();
        int skipped = 0;
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
            } else {
                skips.add((Skip) r);
                skipped++;
            }
        }
        if (samples.isEmpty()) {
            // An empty micro-batch cannot step (per-device batch 1 and one bad file would stop the run):
            // take the next loadable row of this rank's epoch order instead -- deterministic, bounded and
            // logged, never a random one (W14).
            samples.add(replacement(order, start + plan.perDeviceBatch(), epoch, stepInEpoch, rank, micro));
        }
        MervBatch batch = collator.collate(samples, manager);
        return new MervMicroBatch(batch, skipped);
    }

    /** Maximum rows tried after a micro-batch whose every row failed. */
    static final int MAX_REPLACEMENT_TRIES = 64;

    private Sample replacement(int[] order, long from, int epoch, long stepInEpoch, int rank, int micro) {
        for (int k = 0; k < Math.min(MAX_REPLACEMENT_TRIES, order.length); k++) {
            int row = order[(int) ((from + k) % order.length)];
            try {
                Sample s = builder.build(row, epoch);
                org.slf4j.LoggerFactory.getLogger(MervBatchSource.class).warn(
                        "micro-batch (epoch {}, step {}, rank {}, micro {}): every row failed; using row {} instead",
                        epoch, stepInEpoch, rank, micro, row);
                return s;
            } catch (SampleException e) {
                skips.add(new Skip(row, dataset.jsonName(), dataset.rawMediaPath(row), e.reason(), e.getMessage()));
            }
        }
        throw new IllegalStateException("micro-batch (epoch " + epoch + ", step " + stepInEpoch + ", rank " + rank
                + ", micro " + micro + "): every row failed and so did the next " + MAX_REPLACEMENT_TRIES
                + " rows of the epoch order; the dataset looks broken (run ./merv data check; see the skip log)");
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
