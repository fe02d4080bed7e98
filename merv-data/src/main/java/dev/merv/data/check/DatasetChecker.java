package dev.merv.data.check;

import dev.merv.core.io.AtomicFiles;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.merv.data.image.ImageDecoder;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry.DatasetFiles;
import dev.merv.data.videollava.Entry;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Scans a dataset up front the way the loader would read it — parse every row, resolve its media
 * under the root, decode the sampled frames of every video and every image — and reports each row
 * that would be skipped, with its index, JSON file, media path and reason.
 *
 * <p>The report ({@link Report#write}) is {@code {"entries": N, "usable": N, "skipped": [{"index", "json",
 * "path", "reason", "detail"}]}}; {@code ./merv data check} writes it.
 */
public final class DatasetChecker {

    /**
     * @param frames frames decoded per video ({@code max(num_frames)}, 32 for merv-base)
     * @param threads rows checked in parallel
     * @param decoder decoder options (timeout and clock)
     */
    public record Options(int frames, int threads, VideoDecoder.Options decoder) {
        public static Options defaults() {
            return new Options(32, Math.max(1, Runtime.getRuntime().availableProcessors()), VideoDecoder.Options.defaults());
        }
    }

    /** The scan's result. */
    public record Report(int entries, int usable, SkipLog skips) {
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("entries", entries);
            o.addProperty("usable", usable);
            o.add("skipped", skips.toJson());
            return o;
        }

        /** Writes the report as JSON (atomically), creating the parent directory. */
        public void write(Path json) {
            AtomicFiles.writeString(json, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create()
                    .toJson(toJson()) + "\n");
        }
    }

    private DatasetChecker() {}

    public static Report check(DatasetFiles files, Options options) throws IOException {
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(files)) {
            return check(ds, options);
        }
    }

    public static Report check(VideoLlavaDataset ds, Options options) throws IOException {
        VideoDecoder video = new VideoDecoder(options.decoder());
        ImageDecoder image = new ImageDecoder(video);
        SkipLog log = new SkipLog();
        ExecutorService pool = Executors.newFixedThreadPool(options.threads(), r -> {
            Thread t = new Thread(r, "merv-check");
            t.setDaemon(true);
            return t;
        });
        try {
            // windows keep the number of queued tasks bounded on million-row files
            int window = Math.max(256, options.threads() * 64);
            for (int from = 0; from < ds.size(); from += window) {
                int to = Math.min(ds.size(), from + window);
                List<Future<SampleException>> results = new ArrayList<>(to - from);
                for (int i = from; i < to; i++) {
                    int idx = i;
                    results.add(pool.submit(() -> checkRow(ds, idx, video, image, options.frames())));
                }
                for (int i = from; i < to; i++) {
                    SampleException e = results.get(i - from).get();
                    if (e != null) {
                        log.add(new Skip(i, ds.jsonName(), ds.rawMediaPath(i), e.reason(), e.getMessage()));
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("check interrupted", e);
        } catch (ExecutionException e) {
            throw new IOException("check failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return new Report(ds.size(), ds.size() - log.size(), log);
    }

    /** Null when row {@code i} is usable, else why not. */
    static SampleException checkRow(VideoLlavaDataset ds, int i, VideoDecoder video, ImageDecoder image, int frames) {
        try {
            Entry e = ds.entry(i);
            if (!e.hasMedia()) {
                return null;
            }
            Path file = ds.resolveMedia(e);
            if (e.kind() == Entry.Kind.VIDEO) {
                video.decodeSampled(file, frames);
            } else {
                image.decode(file);
            }
            return null;
        } catch (SampleException e) {
            return e;
        }
    }

    /** Entry indices listed as skipped in a report written by {@link Report#write} (to leave them out of sampling). */
    public static java.util.Set<Integer> skippedIndices(Path reportJson) throws IOException {
        JsonObject o = com.google.gson.JsonParser.parseString(Files.readString(reportJson)).getAsJsonObject();
        java.util.Set<Integer> out = new java.util.TreeSet<>();
        if (!o.has("skipped") || !o.get("skipped").isJsonArray()) {
            throw new IOException(reportJson + ": no 'skipped' list");
        }
        o.getAsJsonArray("skipped").forEach(e -> out.add(e.getAsJsonObject().get("index").getAsInt()));
        return out;
    }
}
