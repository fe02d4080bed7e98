package dev.merv.data.cache;

import dev.merv.core.torch.ScalarType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A process filling a feature cache, for {@link FeatureCacheTest}: {@code DIR NAME COUNT SHARD_BYTES MAX_BYTES}.
 * Two threads put entries {@code shared-0..COUNT-1} (the same bytes in every process, as two builders of one
 * dataset compute them) and {@code NAME-0..COUNT-1} (its own), in small shards, then close the cache.
 */
public final class CacheWriterProcess {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String name = args[1];
        int count = Integer.parseInt(args[2]);
        FeatureCache.Options o = FeatureCache.Options.defaults().withShardBytes(Long.parseLong(args[3]))
                .withMaxBytes(Long.parseLong(args[4])).withRescanInterval(Duration.ZERO);
        try (FeatureCache c = FeatureCache.open(dir, o)) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int part = t;
                threads.add(new Thread(() -> {
                    for (int i = part; i < count; i += 2) {
                        c.put("shared-" + i, entry("shared-" + i));
                        c.put(name + "-" + i, entry(name + "-" + i));
                        // read back what others may have written meanwhile
                        FeatureCache.Entry e = c.get("shared-" + (count - 1 - i));
                        if (e != null && !FeatureCacheTest.sameBytes(e, entry("shared-" + (count - 1 - i)))) {
                            throw new AssertionError("shared-" + (count - 1 - i) + " read back different bytes");
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
        }
        System.out.println("done " + name);
    }

    /** The entry every process stores under {@code key}: bytes derived from the key, bf16 value and fp32 class key. */
    static FeatureCache.Entry entry(String key) {
        java.util.Random r = new java.util.Random(key.hashCode());
        byte[] v = new byte[2 * 4 * 96];
        r.nextBytes(v);
        byte[] k = new byte[4 * 96];
        r.nextBytes(k);
        return new FeatureCache.Entry(new FeatureCache.Tensor(ScalarType.BFLOAT16, new long[] {4, 96}, v),
                new FeatureCache.Tensor(ScalarType.FLOAT32, new long[] {96}, k));
    }
}
