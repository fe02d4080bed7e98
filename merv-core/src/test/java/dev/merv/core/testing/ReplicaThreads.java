package dev.merv.core.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * N replica threads for tests of collectives and sharded optimizer state: {@link #onAll} runs one body per
 * rank at once (a collective blocks until every rank has joined) and returns the results by rank.
 */
public final class ReplicaThreads implements AutoCloseable {

    private final int replicas;
    private final long timeoutSeconds;
    private final ExecutorService pool;

    public ReplicaThreads(int replicas, long timeoutSeconds) {
        this.replicas = replicas;
        this.timeoutSeconds = timeoutSeconds;
        this.pool = Executors.newFixedThreadPool(replicas);
    }

    /** Runs {@code body(rank)} on every replica thread; fails when one throws or any takes longer than the timeout. */
    public <T> List<T> onAll(IntFunction<T> body) throws InterruptedException, ExecutionException, TimeoutException {
        List<Future<T>> fs = new ArrayList<>();
        for (int r = 0; r < replicas; r++) {
            final int rank = r;
            fs.add(pool.submit(() -> body.apply(rank)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            out.add(f.get(timeoutSeconds, TimeUnit.SECONDS));
        }
        return out;
    }

    /** Runs one task on a spare thread of the pool (e.g. a rank left waiting in a barrier). */
    public Future<?> submit(Runnable task) {
        return pool.submit(task);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
