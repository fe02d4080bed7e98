package dev.merv.data.cache;

import dev.merv.core.io.AtomicFiles;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.TensorBytes;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory of frozen encoder features, stored as safetensors shards and looked up by key
 * ({@link FeatureKeys}).
 *
 * <p>Layout: {@code DIR/cache.json} (format and version) and {@code DIR/shards/*.safetensors}. A shard holds
 * many entries; an entry is the tensor {@code KEY} (one clip's value at an encoder's frozen point) and, for
 * a fusion that needs them, {@code KEY#class_key} (its mean encoder token); the shard's metadata holds each
 * tensor's CRC-32C, checked on every read.
 *
 * <p>Writes: new entries collect in memory (readable at once) and are written as a new shard of about
 * {@link Options#shardBytes} on a background thread, under a temporary name, forced to disk, then renamed:
 * a shard is complete or absent. Shards are never changed once written, and their names are unique per
 * process, so any number of loader threads and processes can fill one directory at the same time; an
 * entry two writers computed at once is stored twice (with equal bytes) and read from either. Entries a
 * process has not written yet are invisible to the others; every process rescans the directory for
 * shards written by others when it misses (at most every {@link Options#rescanInterval}).
 *
 * <p>Size: after each shard it writes, a process deletes the least recently used shards (by modification
 * time, which every read refreshes) until the directory holds at most {@link Options#maxBytes}. A reader
 * whose shard was just deleted by another process counts a miss. A shard that cannot be parsed or whose
 * bytes do not match their checksum is reported and deleted; the entries are computed again.
 *
 * <p>The cache is optional: a shard that cannot be written (full disk) is reported, its entries dropped,
 * and training goes on.
 */
public final class FeatureCache implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FeatureCache.class);

    /** The format written into {@code cache.json} and every shard's metadata. */
    public static final String FORMAT = "merv-feature-cache";
    public static final int VERSION = 1;
    static final String CLASS_KEY_SUFFIX = "#class_key";
    private static final String CRC_PREFIX = "crc32c:";
    private static final String ORDER_PREFIX = "order:";
    private static final Duration STALE_TEMP = Duration.ofHours(6);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * @param maxBytes the directory's size bound (least recently used shards go first); Long.MAX_VALUE = unbounded
     * @param shardBytes entry bytes collected before a shard is written
     * @param rescanInterval least time between two scans for other processes' shards
     */
    public record Options(long maxBytes, long shardBytes, Duration rescanInterval) {
        public Options {
            if (maxBytes <= 0 || shardBytes <= 0) {
                throw new IllegalArgumentException("feature cache: size bound and shard size must be positive, got "
                        + maxBytes + " and " + shardBytes);
            }
        }

        /** Unbounded, 256 MB shards, rescans at most every 2 s. */
        public static Options defaults() {
            return new Options(Long.MAX_VALUE, 256L << 20, Duration.ofSeconds(2));
        }

        /** At most {@code gb} GB (10^9 bytes) on disk. */
        public Options withMaxGb(double gb) {
            if (!(gb > 0)) {
                throw new IllegalArgumentException("feature_cache_max_gb must be positive, got " + gb);
            }
            return new Options(gb >= 9e9 ? Long.MAX_VALUE : (long) (gb * 1e9), shardBytes, rescanInterval);
        }

        public Options withMaxBytes(long bytes) {
            return new Options(bytes, shardBytes, rescanInterval);
        }

        public Options withShardBytes(long bytes) {
            return new Options(maxBytes, bytes, rescanInterval);
        }

        public Options withRescanInterval(Duration d) {
            return new Options(maxBytes, shardBytes, d);
        }
    }

    /**
     * One tensor as stored: dtype, shape and its little-endian bytes in the memory order the model computed it
     * in ({@code order}: the axes from outermost to innermost; null for row-major). A bf16 matrix product can
     * round differently on a transposed operand, so a cached value is given back in its original layout.
     */
    public record Tensor(ScalarType dtype, long[] shape, byte[] data, int[] order) {
        public Tensor {
            long n = dtype.bytes();
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            if (n != data.length) {
                throw new IllegalArgumentException(dtype + " " + java.util.Arrays.toString(shape) + " needs " + n
                        + " bytes, got " + data.length);
            }
            if (order != null) {
                int[] sorted = order.clone();
                java.util.Arrays.sort(sorted);
                for (int i = 0; i < sorted.length; i++) {
                    if (sorted.length != shape.length || sorted[i] != i) {
                        throw new IllegalArgumentException("memory order " + java.util.Arrays.toString(order)
                                + " is not a permutation of the " + shape.length + " axes");
                    }
                }
                if (isIdentity(order)) {
                    order = null;
                }
            }
        }

        /** A row-major tensor. */
        public Tensor(ScalarType dtype, long[] shape, byte[] data) {
            this(dtype, shape, data, null);
        }

        /** The shape in memory order. */
        long[] storedShape() {
            if (order == null) {
                return shape;
            }
            long[] s = new long[shape.length];
            for (int i = 0; i < s.length; i++) {
                s[i] = shape[order[i]];
            }
            return s;
        }

        private static boolean isIdentity(int[] order) {
            for (int i = 0; i < order.length; i++) {
                if (order[i] != i) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One cached clip of one encoder: the value at its frozen point and, when the fusion needs it, the mean token. */
    public record Entry(Tensor value, Tensor classKey) {
        long bytes() {
            return value.data().length + (classKey == null ? 0 : classKey.data().length);
        }
    }

    /** What the cache did since it was opened, in this process. */
    public record Stats(long hits, long misses, long stored, long shardsWritten, long shardsEvicted, long damaged,
            long entries, long bytesOnDisk) {}

    /** Where an entry is: in memory (not written yet) or in a shard. */
    private record Slot(Entry pending, String shard, long dataStart, TensorInfo value, int valueCrc, int[] valueOrder,
            TensorInfo classKey, int classKeyCrc) {
        static Slot pending(Entry e) {
            return new Slot(e, null, 0, null, 0, null, null, 0);
        }
    }

    private final Path dir;
    private final Path shards;
    private final Options options;
    private final Map<String, Slot> index = new ConcurrentHashMap<>();
    /** Shards this process knows, with their sizes. */
    private final Map<String, Long> known = new ConcurrentHashMap<>();
    private final Object pendingLock = new Object();
    private Map<String, Entry> pending = new LinkedHashMap<>();
    private long pendingBytes;
    private final ExecutorService writer;
    private final Semaphore writeSlots = new Semaphore(2);
    private final List<Future<?>> writes = new ArrayList<>();
    private volatile long lastScanNanos;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong shardsWritten = new AtomicLong();
    private final AtomicLong shardsEvicted = new AtomicLong();
    private final AtomicLong damaged = new AtomicLong();
    private final AtomicLong sequence = new AtomicLong();
    private volatile boolean writeFailing;
    private volatile boolean closed;

    private FeatureCache(Path dir, Options options) {
        this.dir = dir;
        this.shards = dir.resolve("shards");
        this.options = options;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "merv-feature-cache-writer");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens (creating it if needed) the cache in {@code dir} and indexes its shards; fails naming the
     * directory when it holds another format or cannot be created.
     */
    public static FeatureCache open(Path dir, Options options) {
        Path meta = dir.resolve("cache.json");
        try {
            Files.createDirectories(dir.resolve("shards"));
            if (!Files.exists(meta)) {
                AtomicFiles.writeString(meta, "{\"format\": \"" + FORMAT + "\", \"version\": " + VERSION + "}\n");
            }
            String text = Files.readString(meta);
            if (!text.contains("\"" + FORMAT + "\"") || !text.replace(" ", "").contains("\"version\":" + VERSION)) {
                throw new IllegalArgumentException("feature cache " + dir + ": " + meta.getFileName() + " names another format or"
                        + " version (" + text.trim() + "); this merv reads " + FORMAT + " version " + VERSION
                        + "; use another directory");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("feature cache " + dir + ": cannot create or read it: " + e.getMessage(), e);
        }
        FeatureCache c = new FeatureCache(dir, options);
        c.removeStaleTemps();
        c.rescan();
        return c;
    }

    public Path directory() {
        return dir;
    }

    public Options options() {
        return options;
    }

    /** Whether {@code key} is cached (in memory or a known shard), without reading it. */
    public boolean contains(String key) {
        return index.containsKey(key);
    }

    /**
     * The entry under {@code key}, or null (a miss): never stored, evicted, or damaged (reported, then
     * deleted). Refreshes the shard's access time. Thread-safe.
     */
    public Entry get(String key) {
        Slot s = index.get(key);
        if (s == null && System.nanoTime() - lastScanNanos > options.rescanInterval().toNanos()) {
            rescan();
            s = index.get(key);
        }
        Entry e = s == null ? null : read(key, s);
        (e == null ? misses : hits).incrementAndGet();
        return e;
    }

    /** Stores {@code entry} under {@code key} unless it is there already; it is readable at once. Thread-safe. */
    public void put(String key, Entry entry) {
        Map<String, Entry> full = null;
        synchronized (pendingLock) {
            if (closed) {
                throw new IllegalStateException("feature cache " + dir + " is closed");
            }
            if (index.putIfAbsent(key, Slot.pending(entry)) != null) {
                return;
            }
            pending.put(key, entry);
            pendingBytes += entry.bytes();
            stored.incrementAndGet();
            if (pendingBytes >= options.shardBytes()) {
                full = pending;
                pending = new LinkedHashMap<>();
                pendingBytes = 0;
            }
        }
        if (full != null) {
            submit(full);
        }
    }

    /** Writes the entries collected so far as a shard and waits for every shard write this process started. */
    public void flush() {
        Map<String, Entry> batch;
        synchronized (pendingLock) {
            batch = pending;
            pending = new LinkedHashMap<>();
            pendingBytes = 0;
        }
        if (!batch.isEmpty()) {
            submit(batch);
        }
        List<Future<?>> wait;
        synchronized (writes) {
            wait = new ArrayList<>(writes);
            writes.clear();
        }
        for (Future<?> f : wait) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                // reported by the writer
            }
        }
    }

    public Stats stats() {
        long bytes = 0;
        for (long b : known.values()) {
            bytes += b;
        }
        return new Stats(hits.get(), misses.get(), stored.get(), shardsWritten.get(), shardsEvicted.get(), damaged.get(),
                index.size(), bytes);
    }

    /** Flushes and stops the writer. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush();
        synchronized (pendingLock) {
            closed = true;
        }
        writer.shutdown();
    }

    // ------------------------------------------------------------------------------ writing

    private void submit(Map<String, Entry> batch) {
        try {
            // at most two shards wait for the disk; a faster producer waits here instead of filling memory
            writeSlots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to write a feature cache shard", e);
        }
        Future<?> f = writer.submit(() -> {
            try {
                write(batch);
            } finally {
                writeSlots.release();
            }
        });
        synchronized (writes) {
            writes.removeIf(Future::isDone);
            writes.add(f);
        }
    }

    private void write(Map<String, Entry> batch) {
        String name = String.format(Locale.ROOT, "%013d-%d-%d-%08x.safetensors", System.currentTimeMillis(),
                ProcessHandle.current().pid(), sequence.incrementAndGet(), RANDOM.nextInt());
        Path target = shards.resolve(name);
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        Map<String, Tensor> tensors = new HashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT + "/" + VERSION);
        batch.forEach((key, e) -> {
            add(entries, tensors, meta, key, e.value());
            if (e.classKey() != null) {
                add(entries, tensors, meta, key + CLASS_KEY_SUFFIX, e.classKey());
            }
        });
        try {
            SafeTensorsWriter.write(target, entries, meta, (entry, scope) -> HostTensors.storedArray(tensors.get(entry.name()), scope));
            shardsWritten.incrementAndGet();
            if (writeFailing) {
                LOG.warn("feature cache {}: writing shards again", dir);
                writeFailing = false;
            }
        } catch (RuntimeException e) {
            // a full disk or a vanished directory: the entries are computed again when needed
            if (!writeFailing) {
                LOG.warn("feature cache {}: cannot write a shard of {} entries ({}); they are dropped, training goes on",
                        dir, batch.size(), e.toString());
                writeFailing = true;
            }
            dropPending(batch);
            return;
        }
        try {
            indexShard(name);
        } catch (NoSuchFileException | RuntimeException e) {
            // another process evicted it already
            LOG.debug("feature cache {}: shard {} is gone before it was indexed: {}", dir, name, e.toString());
        }
        // entries whose shard is gone are no longer held in memory either
        dropPending(batch);
        evict(name);
    }

    private void dropPending(Map<String, Entry> batch) {
        for (String k : batch.keySet()) {
            Slot s = index.get(k);
            if (s != null && s.pending() != null) {
                index.remove(k, s);
            }
        }
    }

    private static void add(List<SafeTensorsWriter.Entry> entries, Map<String, Tensor> tensors, Map<String, String> meta,
            String name, Tensor t) {
        // the file holds the bytes as they are, in memory order; the order says how to view them
        entries.add(new SafeTensorsWriter.Entry(name, t.dtype(), t.storedShape()));
        tensors.put(name, t);
        meta.put(CRC_PREFIX + name, Integer.toHexString(crc(t.data())));
        if (t.order() != null) {
            meta.put(ORDER_PREFIX + name, java.util.Arrays.stream(t.order()).mapToObj(Integer::toString)
                    .collect(java.util.stream.Collectors.joining(",")));
        }
    }

    static int crc(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data, 0, data.length);
        return (int) c.getValue();
    }

    // ------------------------------------------------------------------------------ reading and indexing

    private Entry read(String key, Slot s) {
        if (s.pending() != null) {
            return s.pending();
        }
        Path file = shards.resolve(s.shard());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Tensor value = readTensor(ch, s.dataStart(), s.value(), s.valueOrder());
            Tensor classKey = s.classKey() == null ? null : readTensor(ch, s.dataStart(), s.classKey(), null);
            if (crc(value.data()) != s.valueCrc() || (classKey != null && crc(classKey.data()) != s.classKeyCrc())) {
                damaged(s.shard(), "entry " + key + " does not match its checksum");
                return null;
            }
            touch(file);
            return new Entry(value, classKey);
        } catch (NoSuchFileException e) {
            // evicted by another process
            forget(s.shard());
            return null;
        } catch (IOException e) {
            damaged(s.shard(), "cannot read entry " + key + ": " + e);
            return null;
        }
    }

    private static Tensor readTensor(FileChannel ch, long dataStart, TensorInfo info, int[] order) throws IOException {
        long n = info.end() - info.begin();
        if (n > Integer.MAX_VALUE) {
            throw new IOException("entry '" + info.name() + "' of " + n + " bytes is too large for the feature cache");
        }
        ByteBuffer b = ByteBuffer.allocate((int) n);
        TensorBytes.readFully(ch, b, dataStart + info.begin());
        long[] stored = info.shape();
        long[] shape = stored;
        if (order != null) {
            if (order.length != stored.length) {
                throw new IOException("entry '" + info.name() + "': memory order of " + order.length + " axes for a shape of "
                        + stored.length);
            }
            shape = new long[stored.length];
            for (int i = 0; i < order.length; i++) {
                shape[order[i]] = stored[i];
            }
        }
        return new Tensor(info.dtype(), shape, b.array(), order);
    }

    private static void touch(Path file) {
        try {
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // evicted meanwhile, or a read-only cache: the entry was read all the same
        }
    }

    /** Indexes shards other processes wrote since the last scan and forgets deleted ones. */
    private synchronized void rescan() {
        lastScanNanos = System.nanoTime();
        Set<String> present = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(shards, "*.safetensors")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                present.add(name);
                if (!known.containsKey(name)) {
                    try {
                        indexShard(name);
                    } catch (NoSuchFileException e) {
                        present.remove(name);
                    } catch (RuntimeException e) {
                        damaged(name, e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("feature cache {}: cannot list {}: {}", dir, shards, e.toString());
            return;
        }
        for (String name : new ArrayList<>(known.keySet())) {
            if (!present.contains(name)) {
                forget(name);
            }
        }
    }

    /** Reads one shard's header into the index (its entries replace in-memory ones of the same key). */
    private void indexShard(String name) throws NoSuchFileException {
        Path file = shards.resolve(name);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString());
        }
        Map<String, TensorInfo> infos;
        Map<String, String> meta;
        long dataStart;
        long size;
        try (SafeTensors st = SafeTensors.open(file); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            infos = st.tensors();
            meta = st.metadata();
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            TensorBytes.readFully(ch, len, 0);
            dataStart = 8 + len.getLong(0);
            size = ch.size();
        } catch (WeightFormatException e) {
            throw new IllegalStateException("not a complete shard: " + e.getMessage(), e);
        } catch (IOException e) {
            if (e instanceof NoSuchFileException n) {
                throw n;
            }
            throw new UncheckedIOException(e);
        }
        if (!(FORMAT + "/" + VERSION).equals(meta.get("format"))) {
            throw new IllegalStateException("shard of format '" + meta.get("format") + "', expected " + FORMAT + "/" + VERSION);
        }
        for (TensorInfo v : infos.values()) {
            if (v.name().endsWith(CLASS_KEY_SUFFIX)) {
                continue;
            }
            TensorInfo k = infos.get(v.name() + CLASS_KEY_SUFFIX);
            Slot s = new Slot(null, name, dataStart, v, crcOf(meta, v.name(), file), orderOf(meta, v.name()), k,
                    k == null ? 0 : crcOf(meta, k.name(), file));
            index.merge(v.name(), s, (old, fresh) -> old.pending() != null || old.shard() == null ? fresh : old);
        }
        known.put(name, size);
    }

    private static int[] orderOf(Map<String, String> meta, String tensor) {
        String o = meta.get(ORDER_PREFIX + tensor);
        return o == null ? null : java.util.Arrays.stream(o.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static int crcOf(Map<String, String> meta, String tensor, Path file) {
        String hex = meta.get(CRC_PREFIX + tensor);
        if (hex == null) {
            throw new IllegalStateException(file + ": no checksum for '" + tensor + "'");
        }
        return Integer.parseUnsignedInt(hex, 16);
    }

    private void damaged(String shard, String why) {
        damaged.incrementAndGet();
        LOG.warn("feature cache {}: shard {} is damaged ({}); deleted, its entries are computed again", dir, shard, why);
        forget(shard);
        try {
            Files.deleteIfExists(shards.resolve(shard));
        } catch (IOException e) {
            // another process may have removed it first
        }
    }

    private void forget(String shard) {
        known.remove(shard);
        index.entrySet().removeIf(en -> shard.equals(en.getValue().shard()));
    }

    // ------------------------------------------------------------------------------ size bound

    /** Deletes least recently used shards (never {@code keep}, just written) until the directory fits the bound. */
    private void evict(String keep) {
        if (options.maxBytes() == Long.MAX_VALUE) {
            return;
        }
        record Shard(String name, long size, long lastUsed) {}
        List<Shard> all = new ArrayList<>();
        long total = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(shards, "*.safetensors")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                try {
                    long size = Files.size(p);
                    all.add(new Shard(name, size, Files.getLastModifiedTime(p).toMillis()));
                    total += size;
                } catch (NoSuchFileException e) {
                    // deleted by another process meanwhile
                }
            }
        } catch (IOException e) {
            LOG.warn("feature cache {}: cannot list shards for eviction: {}", dir, e.toString());
            return;
        }
        if (total <= options.maxBytes()) {
            return;
        }
        all.sort(Comparator.comparingLong(Shard::lastUsed).thenComparing(Shard::name));
        for (Shard s : all) {
            if (total <= options.maxBytes()) {
                break;
            }
            if (s.name().equals(keep)) {
                continue;
            }
            try {
                Files.deleteIfExists(shards.resolve(s.name()));
                shardsEvicted.incrementAndGet();
            } catch (IOException e) {
                continue;
            }
            total -= s.size();
            forget(s.name());
        }
    }

    /** Temporary files a writer that died left behind (a live writer renames within seconds). */
    private void removeStaleTemps() {
        long cutoff = System.currentTimeMillis() - STALE_TEMP.toMillis();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(shards, ".*.tmp")) {
            for (Path p : ds) {
                try {
                    if (Files.getLastModifiedTime(p).toMillis() < cutoff) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    // another process cleaned it first
                }
            }
        } catch (IOException e) {
            LOG.warn("feature cache {}: cannot list temporary files: {}", dir, e.toString());
        }
    }
}
