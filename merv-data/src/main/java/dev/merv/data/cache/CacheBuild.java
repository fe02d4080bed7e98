package dev.merv.data.cache;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.build.MervModels;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.FrozenPoint;
import dev.merv.core.model.Precision;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.train.Devices;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.Sample;
import dev.merv.data.batch.SampleBuilder;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipLog;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.FrozenVideoEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Precomputes a dataset's frozen features into a feature cache before training ({@code ./merv cache build}):
 * every video and image of a stage's annotation file, on every device given, each device running the
 * model's encoders (and parameter-free resamplers, no LLM and no trained weight) on its share of the clips.
 * A clip already in the cache is neither decoded nor encoded; a clip that cannot be read is counted as
 * skipped, as training would skip it. Every random variant of a transform is stored (both sides of
 * LanguageBind's training flip), so every epoch of training finds its clips.
 *
 * <p>The values are those training computes ({@link FrozenPoint#compute}, the same keys), so a run on the
 * filled cache decodes and encodes nothing and trains bitwise as without the cache on the same device kind.
 */
public final class CacheBuild {

    /**
     * @param videollava the Video-LLaVA folder (annotation files and media)
     * @param stage whose annotation file is read (finetune or align)
     * @param model the model whose encoders run
     * @param weights where the encoders' checkpoints are
     * @param precision the precision training will use (the cached dtype)
     * @param devices {@code --devices}: one worker per device
     * @param loaderThreads threads decoding and transforming clips for all devices
     * @param batch clips encoded at once per device
     * @param cacheDir the cache directory
     * @param cache size bound and shard size
     */
    public record Settings(Path videollava, Stage stage, ModelConfig model, BackboneWeights weights, Precision precision,
            String devices, int loaderThreads, int batch, Path cacheDir, FeatureCache.Options cache) {
        public Settings {
            if (batch < 1 || loaderThreads < 1) {
                throw new IllegalArgumentException("cache build: batch and loader threads must be at least 1");
            }
        }
    }

    /** Where a build stands: clips done of all, of which computed, found cached, skipped. */
    public record Progress(long done, long total, long computed, long cached, long skipped, double seconds) {
        public double clipsPerSecond() {
            return done / Math.max(1e-9, seconds);
        }
    }

    /** What a build did. */
    public record Report(long clips, long computed, long cached, long skipped, long decodes, List<String> notCached,
            FeatureCache.Stats cache, double seconds, SkipLog skips) {
        public String line() {
            return String.format(java.util.Locale.ROOT,
                    "cache build: %d clips (%d computed, %d already cached, %d skipped) in %.1f s; %d entries, %.1f MB on disk",
                    clips, computed, cached, skipped, seconds, cache.entries(), cache.bytesOnDisk() / 1e6);
        }
    }

    private CacheBuild() {}

    /** Runs the build; {@code progress} hears after every batch (from the devices' threads, one at a time). */
    public static Report run(Settings s, Consumer<Progress> progress) throws IOException {
        long t0 = System.nanoTime();
        FileHashes hashes = new FileHashes(s.cacheDir().resolve("file-hashes.json"));
        FeatureKeys keys = FeatureKeys.forModel(s.model(), s.weights(), s.precision(), true, hashes);
        if (!keys.any()) {
            throw new IllegalArgumentException("cache build: no encoder of " + s.model().modelId() + " can be cached: "
                    + keys.notCached());
        }
        List<Device> devices = Devices.parse(s.devices());
        SkipLog skips = new SkipLog();
        List<FrozenVideoEncoder> shapes = MervModels.encoderShapes(s.model(), s.weights());
        List<EncoderInput> inputs = shapes.stream().map(EncoderInput::of).toList();
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(s.videollava(), s.stage()));
                FeatureCache cache = FeatureCache.open(s.cacheDir(), s.cache())) {
            CacheLookup lookup = new CacheLookup(cache, keys, hashes, true);
            // the transforms' random streams are training's (epoch 0); the other variants are stored beside them
            SampleBuilder builder = new SampleBuilder(ds, null, inputs, new VideoDecoder(),
                    SampleBuilder.Options.training(7), lookup);
            List<Integer> rows = new ArrayList<>();
            for (int r : ds.wellFormedRows(skips)) {
                if (ds.multimodal(r)) {
                    rows.add(r);
                }
            }
            Counters c = new Counters(rows.size(), t0, progress);
            AtomicInteger next = new AtomicInteger();
            ExecutorService loaders = Executors.newFixedThreadPool(s.loaderThreads(), daemon("merv-cache-loader"));
            ExecutorService workers = Executors.newFixedThreadPool(devices.size(), daemon("merv-cache-device"));
            try {
                List<Future<?>> jobs = new ArrayList<>();
                for (Device d : devices) {
                    jobs.add(workers.submit(() -> {
                        device(d, s, keys, lookup, builder, ds, rows, next, loaders, c, skips);
                        return null;
                    }));
                }
                for (Future<?> f : jobs) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("cache build interrupted", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException("cache build failed: " + e.getCause(), e.getCause());
            } finally {
                loaders.shutdownNow();
                workers.shutdownNow();
            }
            cache.flush();
            hashes.save();
            return new Report(rows.size(), c.computed.get(), c.cached.get(), c.skipped.get(), builder.decodes(),
                    keys.notCached(), cache.stats(), (System.nanoTime() - t0) / 1e9, skips);
        }
    }

    /** Progress shared by the devices. */
    private static final class Counters {
        final long total;
        final long t0;
        final Consumer<Progress> listener;
        final AtomicLong done = new AtomicLong();
        final AtomicLong computed = new AtomicLong();
        final AtomicLong cached = new AtomicLong();
        final AtomicLong skipped = new AtomicLong();

        Counters(long total, long t0, Consumer<Progress> listener) {
            this.total = total;
            this.t0 = t0;
            this.listener = listener;
        }

        synchronized void report() {
            listener.accept(new Progress(done.get(), total, computed.get(), cached.get(), skipped.get(),
                    (System.nanoTime() - t0) / 1e9));
        }
    }

    /** One device: its encoders, then batches of clips taken from the shared list until it is exhausted. */
    private static void device(Device device, Settings s, FeatureKeys keys, CacheLookup lookup, SampleBuilder builder,
            VideoLlavaDataset ds, List<Integer> rows, AtomicInteger next, ExecutorService loaders, Counters c, SkipLog skips)
            throws Exception {
        try (NDManager manager = NDManager.newBaseManager(device)) {
            List<FrozenVideoEncoder> encoders = MervModels.encoders(s.model(), s.weights(), s.precision(), manager);
            ArchSpecifier arch = ArchSpecifier.parse(s.model().archSpecifier());
            List<FrozenPoint> points = new ArrayList<>();
            for (FrozenVideoEncoder e : encoders) {
                points.add(new FrozenPoint(e, FeatureKeys.frozenProjector(arch, e, s.model().projectorTokenLength())));
            }
            List<Future<Object>> pending = submit(builder, ds, rows, next, s.batch(), loaders);
            while (!pending.isEmpty()) {
                List<Future<Object>> current = pending;
                // the next batch decodes while this one is encoded
                pending = submit(builder, ds, rows, next, s.batch(), loaders);
                List<Sample> toEncode = new ArrayList<>();
                for (Future<Object> f : current) {
                    Object r = f.get();
                    if (r instanceof Sample sample) {
                        if (sample.cache() != null && sample.cache().complete()) {
                            c.cached.incrementAndGet();
                        } else {
                            toEncode.add(sample);
                        }
                    } else {
                        skips.add((dev.merv.data.check.Skip) r);
                        c.skipped.incrementAndGet();
                    }
                }
                if (!toEncode.isEmpty()) {
                    try (NDManager step = manager.newSubManager()) {
                        encode(toEncode, keys, lookup, points, s.precision(), step);
                    }
                    c.computed.addAndGet(toEncode.size());
                }
                c.done.addAndGet(current.size());
                c.report();
            }
        }
    }

    private static List<Future<Object>> submit(SampleBuilder builder, VideoLlavaDataset ds, List<Integer> rows,
            AtomicInteger next, int batch, ExecutorService loaders) {
        List<Future<Object>> out = new ArrayList<>();
        for (int k = 0; k < batch; k++) {
            int i = next.getAndIncrement();
            if (i >= rows.size()) {
                break;
            }
            int row = rows.get(i);
            out.add(loaders.submit(() -> {
                try {
                    return builder.buildMedia(row, 0);
                } catch (SampleException e) {
                    return new dev.merv.data.check.Skip(row, ds.jsonName(), ds.rawMediaPath(row), e.reason(), e.getMessage());
                }
            }));
        }
        return out;
    }

    /** Each cached encoder on the clips (and extra variants) the cache missed; the values go to the cache. */
    private static void encode(List<Sample> samples, FeatureKeys keys, CacheLookup lookup, List<FrozenPoint> points,
            Precision precision, NDManager step) {
        String[][] storeKeys = new String[points.size()][];
        for (int e = 0; e < points.size(); e++) {
            FeatureKeys.EncoderKey ek = keys.encoder(e);
            if (ek == null) {
                continue;
            }
            List<float[]> clips = new ArrayList<>();
            List<String> store = new ArrayList<>();
            for (Sample sm : samples) {
                RowFeatures rf = sm.cache();
                if (rf == null || rf.hit(e)) {
                    continue;
                }
                clips.add(sm.pixels()[e]);
                store.add(rf.keys()[e]);
                float[][] extra = rf.extraPixels()[e];
                for (int v = 0; extra != null && v < extra.length; v++) {
                    clips.add(extra[v]);
                    store.add(rf.extraKeys()[e][v]);
                }
            }
            if (clips.isEmpty()) {
                continue;
            }
            storeKeys[e] = store.toArray(String[]::new);
            EncoderInput in = EncoderInput.of(points.get(e).encoder());
            int per = in.clipValues();
            float[] all = new float[clips.size() * per];
            for (int k = 0; k < clips.size(); k++) {
                System.arraycopy(clips.get(k), 0, all, k * per, per);
            }
            long[] cs = in.clipShape();
            NDArray px = step.create(all, new Shape(clips.size(), cs[0], cs[1], cs[2], cs[3]));
            try (FrozenPoint.Values v = points.get(e).compute(px, precision.compute(), ek.classKey())) {
                lookup.sink(storeKeys).store(e, v.value(), v.classKeys());
            }
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
