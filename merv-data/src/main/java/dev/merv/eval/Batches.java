package dev.merv.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * Work split into consecutive batches and spread over workers (one model per device, each on its own thread); the
 * results reach the sink in item order, each batch as soon as every earlier batch has been delivered, so a result
 * file grows in question order whichever device finishes first. The first failure stops the other workers (after the
 * batch they are on) and is rethrown once they have stopped; everything delivered before it stays delivered.
 */
final class Batches {

    private Batches() {}

    static <W, T, R> void run(List<T> items, int batchSize, List<W> workers, BiFunction<W, List<T>, List<R>> fn,
            BiConsumer<T, R> sink) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        int batches = (items.size() + batchSize - 1) / batchSize;
        List<List<R>> results = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            results.add(null);
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        int[] delivered = {0};
        Runnable[] loops = new Runnable[workers.size()];
        for (int w = 0; w < workers.size(); w++) {
            W worker = workers.get(w);
            loops[w] = () -> {
                int b;
                while (failure.get() == null && (b = next.getAndIncrement()) < batches) {
                    List<T> batch = items.subList(b * batchSize, Math.min(items.size(), (b + 1) * batchSize));
                    try {
                        List<R> r = fn.apply(worker, batch);
                        if (r.size() != batch.size()) {
                            throw new IllegalStateException("a batch of " + batch.size() + " gave " + r.size() + " results");
                        }
                        synchronized (results) {
                            results.set(b, r);
                            while (delivered[0] < batches && results.get(delivered[0]) != null) {
                                int d = delivered[0];
                                List<T> done = items.subList(d * batchSize, Math.min(items.size(), (d + 1) * batchSize));
                                for (int i = 0; i < done.size(); i++) {
                                    sink.accept(done.get(i), results.get(d).get(i));
                                }
                                results.set(d, List.of());
                                delivered[0]++;
                            }
                        }
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                    }
                }
            };
        }
        if (workers.size() == 1) {
            loops[0].run();
        } else {
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers.size(); w++) {
                Thread t = new Thread(loops[w], "merv-eval-" + w);
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure.compareAndSet(null, new IllegalStateException("interrupted while evaluating", e));
                }
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }
}
