package dev.merv.core.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * {@code metrics.jsonl} in the run directory: one JSON object per optimizer step with loss, lr,
 * pre-clip gradient norm, throughput, loader wait, skipped samples and the fusion's mixing weights
 * (W18 asks for all of them), plus the reference's names for what its users plot, with {@code P} the
 * stage's metric prefix ({@code Finetune}, {@code Align}, ...):
 *
 * <ul>
 *   <li>{@code P/Step}: the global step;
 *   <li>{@code P/Loss}: the mean of the last 128 micro-batch losses, {@code P/Loss (Raw)}: the mean of this
 *       step's micro-batch losses (each a mean over its supervised tokens; rank 0's micro-batches, as the
 *       reference logs them; merv's {@code loss} is the whole global batch's);
 *   <li>{@code P/Learning Rate}: the learning rate after this step's scheduler step (the next step's, as
 *       the reference logs it; merv's {@code lr} is the one this step used);
 *   <li>{@code P/Step Time}: the mean of the last 128 step durations in seconds.
 * </ul>
 *
 * The smoothing windows are saved in every checkpoint, so a resumed run logs the values an uninterrupted
 * one would. Each invocation's first line is an {@code event: start} record (fresh, or which checkpoint
 * and why). On resume, lines past the checkpoint's step are dropped so the file reads as one continuous
 * run. The log is optional: a line that cannot be written (a full disk) is reported and training goes on;
 * writing resumes when it can.
 */
final class MetricsLog implements AutoCloseable {

    /** The reference's smoothing window ({@code window_size} 128). */
    static final int WINDOW = 128;

    // paths in start lines stay readable ('=' of checkpoint names is not escaped)
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
    private final Path file;
    private final String prefix;
    private final PrintStream report;
    private final Deque<Double> losses = new ArrayDeque<>();
    private final Deque<Double> stepTimes = new ArrayDeque<>();
    private BufferedWriter out;
    private long lost;
    private boolean failing;

    MetricsLog(Path file, long keepUpToStep, String prefix, Checkpoints.Smoothing restored, PrintStream report) {
        this.file = file;
        this.prefix = prefix;
        this.report = report;
        for (double v : restored.losses()) {
            push(losses, v);
        }
        for (double v : restored.stepTimes()) {
            push(stepTimes, v);
        }
        try {
            truncate(keepUpToStep);
        } catch (IOException | RuntimeException e) {
            failed("cannot rewrite it up to step " + keepUpToStep, e);
        }
    }

    /**
     * Keeps the step lines up to {@code step} and the start lines before it (atomically; lines that are not
     * JSON, e.g. cut by a crash, are dropped).
     */
    private void truncate(long step) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonObject o = GSON.fromJson(line, JsonObject.class);
                // an earlier start at this very step is replaced by this one's start line
                if (o != null && o.has("step") && (o.has("event") ? o.get("step").getAsLong() < step
                        : o.get("step").getAsLong() <= step)) {
                    kept.add(line);
                }
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                // a line cut short by a crash
            }
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, kept, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The {@code event: start} line: a fresh start or the checkpoint resumed from, why, and damaged ones skipped. */
    void start(long step, Path checkpoint, String reason, List<String> damaged) {
        JsonObject o = new JsonObject();
        o.addProperty("step", step);
        o.addProperty("event", "start");
        o.addProperty("start", checkpoint == null ? "fresh" : "resumed");
        if (checkpoint != null) {
            o.addProperty("checkpoint", checkpoint.toString());
        }
        o.addProperty("reason", reason);
        if (!damaged.isEmpty()) {
            JsonArray a = new JsonArray();
            damaged.forEach(a::add);
            o.add("damaged_checkpoints", a);
        }
        append(o);
    }

    /**
     * One step's line.
     *
     * @param microLosses rank 0's micro-batch losses of this step
     * @param nextLr the learning rate after this step's scheduler step
     */
    void write(StepRecord r, double[] microLosses, double nextLr) {
        double raw = 0;
        for (double v : microLosses) {
            raw += v;
            push(losses, v);
        }
        raw = microLosses.length == 0 ? Double.NaN : raw / microLosses.length;
        push(stepTimes, r.stepTimeS());
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
        o.addProperty(prefix + "/Step", r.step());
        o.addProperty(prefix + "/Loss", mean(losses));
        o.addProperty(prefix + "/Loss (Raw)", raw);
        o.addProperty(prefix + "/Learning Rate", nextLr);
        o.addProperty(prefix + "/Step Time", mean(stepTimes));
        append(o);
    }

    /** The smoothing windows now (saved with a checkpoint). */
    Checkpoints.Smoothing smoothing() {
        return new Checkpoints.Smoothing(losses.stream().mapToDouble(Double::doubleValue).toArray(),
                stepTimes.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private void append(JsonObject o) {
        try {
            if (out == null) {
                out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            }
            out.write(GSON.toJson(o));
            out.newLine();
            out.flush();
            if (failing) {
                report.println("metrics: writing " + file + " again (" + lost + " line(s) lost)");
                failing = false;
                lost = 0;
            }
        } catch (IOException | RuntimeException e) {
            lost++;
            closeQuietly();
            failed("cannot write it", e);
        }
    }

    private void failed(String what, Exception e) {
        if (!failing) {
            failing = true;
            report.println();
            report.println("metrics: " + what + " (" + file + ": " + e + "); training goes on, lines are retried");
        }
    }

    private static void push(Deque<Double> window, double v) {
        window.addLast(v);
        while (window.size() > WINDOW) {
            window.removeFirst();
        }
    }

    private static double mean(Deque<Double> window) {
        double sum = 0;
        for (double v : window) {
            sum += v;
        }
        return window.isEmpty() ? Double.NaN : sum / window.size();
    }

    private void closeQuietly() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                // the writer is dropped either way; the next line reopens the file
            }
            out = null;
        }
    }

    @Override
    public void close() {
        closeQuietly();
    }
}
