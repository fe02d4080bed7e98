package dev.merv.data.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.weights.SafeTensors;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The feature cache's store: entries read back bit-exactly from another instance, damage is detected and
 * the damaged shard dropped, the size bound evicts the least recently used shards, and several processes
 * (each with several threads) filling one directory at once leave only complete, loadable shards.
 */
class FeatureCacheTest {

    @TempDir
    Path tmp;

    static FeatureCache.Options small(long shardBytes) {
        return FeatureCache.Options.defaults().withShardBytes(shardBytes).withRescanInterval(Duration.ZERO);
    }

    static boolean sameBytes(FeatureCache.Entry a, FeatureCache.Entry b) {
        return a.value().dtype() == b.value().dtype() && Arrays.equals(a.value().shape(), b.value().shape())
                && Arrays.equals(a.value().data(), b.value().data())
                && (a.classKey() == null ? b.classKey() == null
                        : b.classKey() != null && Arrays.equals(a.classKey().data(), b.classKey().data())
                                && a.classKey().dtype() == b.classKey().dtype());
    }

    static List<Path> shards(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("shards"))) {
            return s.sorted().toList();
        }
    }

    @Test
    void entriesReadBackBitExactlyFromAnotherInstanceAndPendingOnesAtOnce() throws IOException {
        Path dir = tmp.resolve("cache");
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            for (int i = 0; i < 10; i++) {
                c.put("k" + i, CacheWriterProcess.entry("k" + i));
            }
            assertThat(sameBytes(c.get("k3"), CacheWriterProcess.entry("k3"))).isTrue();
            assertThat(shards(dir)).isEmpty();
        }
        assertThat(shards(dir)).hasSize(1);
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            for (int i = 0; i < 10; i++) {
                assertThat(sameBytes(c.get("k" + i), CacheWriterProcess.entry("k" + i))).isTrue();
            }
            assertThat(c.get("absent")).isNull();
            FeatureCache.Stats s = c.stats();
            assertThat(s.hits()).isEqualTo(10);
            assertThat(s.misses()).isEqualTo(1);
            assertThat(s.entries()).isEqualTo(10);
        }
        // a shard is a plain safetensors file
        try (SafeTensors st = SafeTensors.open(shards(dir).get(0))) {
            assertThat(st.names()).contains("k0", "k0#class_key");
            assertThat(st.metadata()).containsEntry("format", "merv-feature-cache/1");
        }
    }

    @Test
    void aTransposedLayoutComesBackWithItsMemoryOrder() throws IOException {
        Path dir = tmp.resolve("cache");
        byte[] data = new byte[2 * 3 * 4];
        new java.util.Random(5).nextBytes(data);
        FeatureCache.Tensor t = new FeatureCache.Tensor(dev.merv.core.torch.ScalarType.FLOAT32, new long[] {2, 3}, data,
                new int[] {1, 0});
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            c.put("t", new FeatureCache.Entry(t, null));
        }
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            FeatureCache.Tensor back = c.get("t").value();
            assertThat(back.shape()).containsExactly(2, 3);
            assertThat(back.order()).containsExactly(1, 0);
            assertThat(back.data()).isEqualTo(data);
        }
        try (SafeTensors st = SafeTensors.open(shards(dir).get(0))) {
            assertThat(st.info("t").shape()).containsExactly(3, 2);
            assertThat(st.metadata()).containsEntry("order:t", "1,0");
        }
    }

    @Test
    void aDamagedShardIsReportedAsMissesAndDeleted() throws IOException {
        Path dir = tmp.resolve("cache");
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            c.put("a", CacheWriterProcess.entry("a"));
            c.put("b", CacheWriterProcess.entry("b"));
        }
        Path shard = shards(dir).get(0);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {42, 43, 44}), ch.size() - 10);
        }
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            // the last entry's bytes were hit; whichever entry is read first, the damage is found
            FeatureCache.Entry a = c.get("a");
            FeatureCache.Entry b = c.get("b");
            assertThat(a == null || b == null).isTrue();
            assertThat(c.stats().damaged()).isEqualTo(1);
            assertThat(Files.exists(shard)).isFalse();
            assertThat(c.get("a")).isNull();
        }
        // a truncated shard (a writer that died mid-copy by hand) is dropped when indexed
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            c.put("c", CacheWriterProcess.entry("c"));
        }
        Path cut = shards(dir).get(0);
        byte[] all = Files.readAllBytes(cut);
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
            assertThat(c.get("c")).isNull();
            assertThat(c.stats().damaged()).isEqualTo(1);
        }
        assertThat(shards(dir)).isEmpty();
    }

    @Test
    void theSizeBoundEvictsTheLeastRecentlyUsedShards() throws IOException {
        Path dir = tmp.resolve("cache");
        long entryBytes = CacheWriterProcess.entry("x").value().data().length
                + CacheWriterProcess.entry("x").classKey().data().length;
        // one entry per shard
        FeatureCache.Options o = small(1);
        try (FeatureCache c = FeatureCache.open(dir, o)) {
            for (String k : List.of("a", "b", "c")) {
                c.put(k, CacheWriterProcess.entry(k));
                c.flush();
            }
        }
        List<Path> three = shards(dir);
        assertThat(three).hasSize(3);
        long shardSize = Files.size(three.get(0));
        long now = System.currentTimeMillis();
        // written long ago, oldest first
        for (int i = 0; i < 3; i++) {
            Files.setLastModifiedTime(three.get(i), FileTime.fromMillis(now - 3_600_000L * (3 - i)));
        }
        try (FeatureCache c = FeatureCache.open(dir, o.withMaxBytes(3 * shardSize + shardSize / 2))) {
            assertThat(c.get("a")).isNotNull(); // "a" is now the most recently used of the three
            c.put("d", CacheWriterProcess.entry("d"));
            c.flush();
            assertThat(c.stats().shardsEvicted()).isEqualTo(1);
            assertThat(c.get("b")).isNull();
            assertThat(c.get("a")).isNotNull();
            assertThat(c.get("c")).isNotNull();
            assertThat(c.get("d")).isNotNull();
        }
        assertThat(shards(dir)).hasSize(3);
        assertThat(entryBytes).isPositive();
    }

    @Test
    void anotherFormatInTheDirectoryIsRefusedNamingIt() throws IOException {
        Path dir = tmp.resolve("cache");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cache.json"), "{\"format\": \"something-else\"}");
        assertThatThrownBy(() -> FeatureCache.open(dir, small(1))).hasMessageContaining(dir.toString())
                .hasMessageContaining("merv-feature-cache");
    }

    @Test
    void twoProcessesFillingOneCacheAtOnceCorruptNothing() throws Exception {
        for (long bound : new long[] {Long.MAX_VALUE, 40_000}) {
            Path dir = tmp.resolve("cache-" + bound);
            int count = 60;
            List<Process> ps = new ArrayList<>();
            for (String name : List.of("p1", "p2")) {
                ps.add(child(dir, name, count, 6_000, bound));
            }
            for (Process p : ps) {
                assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.exitValue()).as(out).isZero();
            }
            // no temporary file left, every shard complete and every entry it holds readable and right
            try (Stream<Path> s = Files.list(dir.resolve("shards"))) {
                assertThat(s.filter(p -> p.getFileName().toString().startsWith("."))).isEmpty();
            }
            int entries = 0;
            try (FeatureCache c = FeatureCache.open(dir, small(1 << 20))) {
                for (Path shard : shards(dir)) {
                    try (SafeTensors st = SafeTensors.open(shard)) {
                        for (String n : st.names()) {
                            if (!n.endsWith("#class_key")) {
                                FeatureCache.Entry e = c.get(n);
                                assertThat(e).as(n).isNotNull();
                                assertThat(sameBytes(e, CacheWriterProcess.entry(n))).as(n).isTrue();
                                entries++;
                            }
                        }
                    }
                }
                assertThat(c.stats().damaged()).isZero();
                if (bound == Long.MAX_VALUE) {
                    for (int i = 0; i < count; i++) {
                        for (String k : List.of("shared-" + i, "p1-" + i, "p2-" + i)) {
                            assertThat(c.get(k)).as(k).isNotNull();
                        }
                    }
                } else {
                    long total = 0;
                    for (Path shard : shards(dir)) {
                        total += Files.size(shard);
                    }
                    // each process keeps the bound after its own writes; the other's last shard may come after
                    assertThat(total).isLessThanOrEqualTo(bound + 2 * 8_000);
                }
            }
            assertThat(entries).isPositive();
        }
    }

    private static Process child(Path dir, String name, int count, long shardBytes, long maxBytes) throws IOException {
        String cp = System.getProperty("java.class.path"); // this JVM's own: Maven's test classpath, or the GPU kit's
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(java.toString(), "-Xmx512m", "-Dai.djl.offline=true", "-cp", cp,
                CacheWriterProcess.class.getName(), dir.toString(), name, Integer.toString(count), Long.toString(shardBytes),
                Long.toString(maxBytes)).redirectErrorStream(true).start();
    }
}
