package dev.merv.data.batch;

import ai.djl.ndarray.NDManager;
import dev.merv.core.model.MervBatch;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.check.SkipReason;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands out micro-batches of one epoch at a time, building samples ahead on a bounded thread pool.
 *
 * <p>The epoch's row order comes from the {@link EpochSampler}; micro-batch {@code j} is rows
 * {@code [j*B, (j+1)*B)} of it (the last one may be shorter). Up to {@code prefetchBatches}
 * micro-batches are in flight, each row built on the pool by {@link SampleBuilder}; collation into
 * NDArrays happens on the caller's thread, under a sub-manager of the loader's manager that the
 * caller closes with the batch. Memory is bounded by {@code prefetchBatches * B} samples.
 *
 * <p>A row that fails ({@link SampleException}: missing, corrupt, empty, unreadable, malformed,
 * outside the root, timeout) is dropped from its micro-batch, counted and reported in the
 * {@link SkipLog}; it is never replaced by another row (W14), so skips are the same on every run. A
 * micro-batch whose rows all fail is skipped. Training never stops for one sample.
 *
 * <p>{@link #state()} is (epoch, micro-batches handed out); {@link #restore} continues from there
 * without building any earlier sample (W12). Not thread-safe: one consumer.
 */
public final class MervLoader implements Iterator<MervBatch>, AutoCloseable {

    /**
     * @param microBatch rows per micro-batch (the per-device batch size)
     * @param threads pool size
     * @param prefetchBatches micro-batches built ahead of the consumer
     * @param sampleTimeoutNanos backstop per sample measured from when its build starts; the
     *     decoder's own timeout normally fires first
     */
    public record Options(int microBatch, int threads, int prefetchBatches, long sampleTimeoutNanos) {
        public Options {
            if (microBatch <= 0 || threads <= 0 || prefetchBatches <= 0 || sampleTimeoutNanos <= 0) {
                throw new IllegalArgumentException("loader options must be positive: " + this);
            }
        }

        public static Options of(int microBatch, int threads) {
            return new Options(microBatch, threads, Math.max(2, threads), 300_000_000_000L);
        }
    }

    private final SampleBuilder builder;
    private final EpochSampler sampler;
    private final Collator collator;
    private final NDManager manager;
    private final SkipLog skips;
    private final Options options;
    private final ExecutorService pool;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final AtomicLong emptyBatches = new AtomicLong();

    private int epoch;
    private int[] order;
    private long position;
    private long submitted;
    private Ready ready;
    private int[] lastRows = new int[0];

    public MervLoader(SampleBuilder builder, EpochSampler sampler, Collator collator, NDManager manager, SkipLog skips,
            Options options) {
        this.builder = builder;
        this.sampler = sampler;
        this.collator = collator;
        this.manager = manager;
        this.skips = skips;
        this.options = options;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "merv-loader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = Executors.newFixedThreadPool(options.threads(), tf);
        seek(new LoaderState(0, 0));
    }

    /** Epoch and micro-batches of it already handed out. */
    public LoaderState state() {
        return new LoaderState(epoch, position);
    }

    /** Continues at {@code state}: the next batch is micro-batch {@code state.position()} of its epoch. */
    public void restore(LoaderState state) {
        seek(state);
    }

    /** Moves to the start of the next epoch (call when {@link #hasNext()} is false). */
    public void nextEpoch() {
        seek(new LoaderState(epoch + 1, 0));
    }

    public int epoch() {
        return epoch;
    }

    /** Micro-batches in the current epoch. */
    public long batchesInEpoch() {
        return (order.length + (long) options.microBatch() - 1) / options.microBatch();
    }

    public SkipLog skips() {
        return skips;
    }

    /** Dataset rows of the batch last returned by {@link #next()}, in batch order. */
    public int[] lastRows() {
        return lastRows.clone();
    }

    /** Micro-batches dropped because every row in them failed. */
    public long emptyBatches() {
        return emptyBatches.get();
    }

    private void seek(LoaderState s) {
        cancelPending();
        epoch = s.epoch();
        order = sampler.order(epoch);
        position = Math.min(s.position(), batchesInEpoch());
        submitted = position;
        ready = null;
    }

    @Override
    public boolean hasNext() {
        while (ready == null) {
            fill();
            Pending p = pending.pollFirst();
            if (p == null) {
                return false;
            }
            List<Sample> samples = collect(p);
            fill();
            if (samples.isEmpty()) {
                emptyBatches.incrementAndGet();
                position = p.position + 1;
                continue;
            }
            ready = new Ready(p.position, samples);
        }
        return true;
    }

    @Override
    public MervBatch next() {
        if (!hasNext()) {
            throw new NoSuchElementException("epoch " + epoch + " is finished; call nextEpoch()");
        }
        Ready r = ready;
        ready = null;
        position = r.position + 1;
        lastRows = r.samples.stream().mapToInt(Sample::index).toArray();
        return collator.collate(r.samples, manager);
    }

    private void fill() {
        long total = batchesInEpoch();
        while (pending.size() < options.prefetchBatches() && submitted < total) {
            long j = submitted++;
            int from = (int) (j * options.microBatch());
            int to = (int) Math.min(order.length, from + (long) options.microBatch());
            int[] rows = Arrays.copyOfRange(order, from, to);
            List<Task> tasks = new ArrayList<>(rows.length);
            int ep = epoch;
            for (int row : rows) {
                Task t = new Task(row);
                t.future = pool.submit(() -> {
                    t.started.set(System.nanoTime());
                    try {
                        return builder.build(row, ep);
                    } catch (SampleException e) {
                        return e;
                    }
                });
                tasks.add(t);
            }
            pending.addLast(new Pending(j, tasks));
        }
    }

    private List<Sample> collect(Pending p) {
        List<Sample> out = new ArrayList<>(p.tasks.size());
        for (Task t : p.tasks) {
            Object r = await(t);
            if (r instanceof Sample s) {
                out.add(s);
            } else {
                SampleException e = (SampleException) r;
                skips.add(new Skip(t.row, builder.dataset().jsonName(), builder.dataset().rawMediaPath(t.row), e.reason(),
                        e.getMessage()));
            }
        }
        return out;
    }

    private Object await(Task t) {
        while (true) {
            try {
                return t.future.get(50, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                long s = t.started.get();
                if (s != 0 && System.nanoTime() - s > options.sampleTimeoutNanos()) {
                    t.future.cancel(true);
                    return new SampleException(SkipReason.TIMEOUT, "entry " + t.row + ": building the sample took more than "
                            + options.sampleTimeoutNanos() / 1_000_000 + " ms");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while loading entry " + t.row, e);
            } catch (CancellationException e) {
                return new SampleException(SkipReason.TIMEOUT, "entry " + t.row + ": cancelled");
            } catch (ExecutionException e) {
                throw new IllegalStateException("loading entry " + t.row + " of " + builder.dataset().jsonName() + " failed",
                        e.getCause());
            }
        }
    }

    private void cancelPending() {
        for (Pending p : pending) {
            for (Task t : p.tasks) {
                t.future.cancel(true);
            }
        }
        pending.clear();
    }

    @Override
    public void close() {
        cancelPending();
        pool.shutdownNow();
    }

    private static final class Task {
        final int row;
        final AtomicLong started = new AtomicLong();
        Future<Object> future;

        Task(int row) {
            this.row = row;
        }
    }

    private record Pending(long position, List<Task> tasks) {}

    private record Ready(long position, List<Sample> samples) {}
}
