package dev.merv.core.train;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl} in the run directory: one JSON object per optimizer step with loss, lr,
 * pre-clip gradient norm, throughput, loader wait, skipped samples and the fusion's mixing weights
 * (W18 asks for all of them). On resume, lines past the checkpoint's step are dropped so the file
 * reads as one continuous run.
 */
final class MetricsLog implements AutoCloseable {

    private static final Gson GSON = new Gson();
    private final BufferedWriter out;
    private final String prefix;

    MetricsLog(Path file, long keepUpToStep, String prefix) {
        this.prefix = prefix;
        try {
            if (Files.exists(file)) {
                List<String> kept = new ArrayList<>();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonObject o = GSON.fromJson(line, JsonObject.class);
                    if (o.has("step") && o.get("step").getAsLong() <= keepUpToStep) {
                        kept.add(line);
                    }
                }
                Files.write(file, kept, StandardCharsets.UTF_8);
            }
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open metrics file " + file, e);
        }
    }

    void write(StepRecord r) {
        JsonObject o = new JsonObject();
        o.addProperty("step", r.step());
        o.addProperty("epoch", r.epoch());
        o.addProperty("stage", prefix);
        o.addProperty("loss", r.loss());
        o.addProperty("lr", r.lr());
        o.addProperty("grad_norm", r.gradNorm());
        o.addProperty("update_skipped", !r.updated());
        o.addProperty("tokens", r.tokens());
        o.addProperty("samples", r.samples());
        o.addProperty("tokens_per_s", r.tokens() / Math.max(1e-9, r.stepTimeS()));
        o.addProperty("samples_per_s", r.samples() / Math.max(1e-9, r.stepTimeS()));
        o.addProperty("step_time_s", r.stepTimeS());
        o.addProperty("loader_wait_s", r.loaderWaitS());
        o.addProperty("skipped_samples", r.skippedSamples());
        if (r.cacheLookups() > 0) {
            o.addProperty("feature_cache_hit_rate", r.cacheHitRate());
            o.addProperty("feature_cache_hits", r.cacheHits());
            o.addProperty("feature_cache_lookups", r.cacheLookups());
        }
        if (r.mixing() != null && r.mixing().length > 0) {
            JsonArray a = new JsonArray();
            for (float f : r.mixing()) {
                a.add(f);
            }
            o.add("mixing_weights", a);
        }
        try {
            out.write(GSON.toJson(o));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics", e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
