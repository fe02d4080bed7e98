package dev.merv.core.train;

import dev.merv.core.io.FileTrees;
import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import dev.merv.core.testing.standin.TinySource;
import dev.merv.core.model.Precision;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Trainer step time with and without activation recomputation on the stand-in model (the tiny
 * transformer of the trainer tests at bench size) against the same model, batch size and step (forward,
 * backward, clip, AdamW, schedule) in PyTorch eager ({@code bench/trainer_step.py}) on the same number of
 * threads. Step times come from runs with no instrumentation at all, on both sides; a separate, untimed Java
 * run then measures peak native memory (a 1 ms malloc poller) and the share of the replica thread's samples
 * in Java code rather than in native tensor ops (JFR). The ratio is Java's median step time over PyTorch's
 * for the same case (above 1: Java is slower).
 *
 * <pre>
 *   mvn -o -q -pl merv-core test-compile exec:java -Dexec.classpathScope=test \
 *       -Dexec.mainClass=dev.merv.core.train.TrainerBench \
 *       [-Dmerv.bench.torchRef=env] [-Dmerv.bench.steps=20] [-Dmerv.bench.threads=N]
 *       [-Dmerv.bench.dim=128 -Dmerv.bench.layers=4 -Dmerv.bench.hidden=352 -Dmerv.bench.seq=128 ...]
 * </pre>
 */
public final class TrainerBench {

    static final int VOCAB = Integer.getInteger("merv.bench.vocab", 512);
    static final int DIM = Integer.getInteger("merv.bench.dim", 128);
    static final int LAYERS = Integer.getInteger("merv.bench.layers", 4);
    static final int HEADS = Integer.getInteger("merv.bench.heads", 4);
    static final int HIDDEN = Integer.getInteger("merv.bench.hidden", 352);
    static final int BATCH = Integer.getInteger("merv.bench.batch", 4);
    static final int SEQ = Integer.getInteger("merv.bench.seq", 128);
    static final int WARMUP = 5;

    record Result(double medianMs, double bestMs, double peakRssMb, double peakMallocMb, double javaShare) {}

    public static void main(String[] args) throws Exception {
        int steps = Integer.getInteger("merv.bench.steps", 20);
        ai.djl.engine.Engine.getInstance();
        if (Integer.getInteger("merv.bench.threads") != null) {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(Integer.getInteger("merv.bench.threads"));
        }
        String torchRef = System.getProperty("merv.bench.torchRef");
        Path tmp = Files.createTempDirectory("merv-bench");
        List<String[]> rows = new ArrayList<>();
        // timed runs, no instrumentation on either side, Java and PyTorch alternating per case
        Result javaPlain = runJava(tmp, false, steps, false);
        JsonObject torchPlain = torchRef == null ? null : runTorch(torchRef, false, steps);
        Result javaRecompute = runJava(tmp, true, steps, false);
        JsonObject torchRecompute = torchRef == null ? null : runTorch(torchRef, true, steps);
        // untimed runs with the memory poller and JFR
        Result memPlain = runJava(tmp, false, steps, true);
        Result memRecompute = runJava(tmp, true, steps, true);
        System.out.printf(Locale.ROOT, "%nstand-in: vocab %d, dim %d, %d layers, %d heads, mlp %d; batch %d x %d tokens; fp32;"
                + " 1 replica; %d intra-op threads; %d timed steps after %d warm-up%n", VOCAB, DIM, LAYERS, HEADS, HIDDEN, BATCH,
                SEQ, ai.djl.pytorch.jni.JniUtils.getNumThreads(), steps, WARMUP);
        System.out.printf(Locale.ROOT, "%-28s %10s %10s %16s%n", "step time (no instrumentation)", "median ms", "best ms",
                "java / torch");
        print("java, plain backward", javaPlain, torchPlain);
        print("java, recompute per layer", javaRecompute, torchRecompute);
        if (torchPlain != null) {
            printTorch("pytorch eager, plain", torchPlain);
            printTorch("pytorch eager, checkpoint", torchRecompute);
            String blas = torchPlain.has("blas") ? torchPlain.get("blas").getAsString() : "unknown";
            System.out.printf(Locale.ROOT, "pytorch %s, BLAS %s; merv: libtorch %s%n", torchPlain.get("torch").getAsString(),
                    blas, dev.merv.core.torch.Torch.libtorchVersion());
            if (blas.equalsIgnoreCase("generic")) {
                System.out.println("WARNING: this PyTorch multiplies matrices with the reference (generic) BLAS while merv's"
                        + " libtorch uses MKL: the java / torch ratio measures the BLAS, not the trainer");
            }
        }
        System.out.printf(Locale.ROOT, "java / torch = Java's median step over PyTorch's for the same case (above 1: Java"
                + " slower); recompute / plain (java): median %.2fx, best %.2fx%n",
                javaRecompute.medianMs / javaPlain.medianMs, javaRecompute.bestMs / javaPlain.bestMs);
        System.out.printf(Locale.ROOT, "%n%-28s %18s %18s %12s%n", "memory (separate untimed run)", "RSS growth MB",
                "malloc growth MB", "java share");
        printMemory("java, plain backward", memPlain);
        printMemory("java, recompute per layer", memRecompute);
        if (torchPlain != null) {
            System.out.printf(Locale.ROOT, "pytorch eager process peak RSS (whole process, not a growth): plain %.1f MB,"
                    + " checkpoint %.1f MB%n", torchPlain.get("peak_rss_mb").getAsDouble(),
                    torchRecompute.get("peak_rss_mb").getAsDouble());
        }
        FileTrees.delete(tmp);
        System.exit(0);
    }

    private static void print(String name, Result r, JsonObject torch) {
        String ratio = torch == null ? "n/a" : String.format(Locale.ROOT, "%.2f", r.medianMs / torch.get("median_ms").getAsDouble());
        System.out.printf(Locale.ROOT, "%-28s %10.1f %10.1f %16s%n", name, r.medianMs, r.bestMs, ratio);
    }

    private static void printTorch(String name, JsonObject t) {
        System.out.printf(Locale.ROOT, "%-28s %10.1f %10.1f %16s%n", name, t.get("median_ms").getAsDouble(),
                t.get("best_ms").getAsDouble(), "1.00");
    }

    private static void printMemory(String name, Result r) {
        System.out.printf(Locale.ROOT, "%-28s %18.1f %18.1f %11.1f%%%n", name, r.peakRssMb, r.peakMallocMb, 100 * r.javaShare);
    }

    /**
     * One Java run; with {@code instrumented} the malloc poller and JFR run over the timed steps (and the step times
     * of that run are not reported), without it nothing but the trainer's own step clock runs.
     */
    static Result runJava(Path root, boolean recompute, int steps, boolean instrumented) throws Exception {
        TrainConfig c = new TrainConfig();
        c.runRootDir = root.toString();
        c.runId = "bench-" + recompute + "-" + instrumented;
        c.globalBatchSize = BATCH;
        c.perDeviceBatchSize = BATCH;
        c.devices = "cpu";
        c.maxSteps = WARMUP + steps;
        c.learningRate = 1e-3;
        c.precision = Precision.FP32;
        c.recompute = recompute;
        c.console = false;
        c.saveCheckpointAfter = 1_000_000;
        c.keepCheckpoints = 1;
        TinySource src = new TinySource(BATCH * (WARMUP + steps), SEQ, VOCAB, 1);
        List<Double> times = new ArrayList<>();
        AtomicLong mallocPeak = new AtomicLong();
        AtomicBoolean polling = new AtomicBoolean(true);
        long[] base = new long[2];
        Recording jfr = new Recording();
        jfr.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
        jfr.enable("jdk.NativeMethodSample").withPeriod(Duration.ofMillis(10));
        Thread poll = new Thread(() -> {
            while (polling.get()) {
                mallocPeak.accumulateAndGet(NativeMemory.mallocInUse(), Math::max);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try (Trainer<TinyBatch> t = new Trainer<>(c, (r, d, m) -> new TinyLm(VOCAB, DIM, LAYERS, HEADS, HIDDEN).init(3, m), src,
                null)) {
            t.onStep(rec -> {
                if (rec.step() == WARMUP) {
                    System.gc();
                    base[0] = NativeMemory.rss();
                    base[1] = NativeMemory.mallocInUse();
                    mallocPeak.set(base[1]);
                    NativeMemory.resetPeak();
                    if (instrumented) {
                        poll.start();
                        jfr.start();
                    }
                } else if (rec.step() > WARMUP) {
                    times.add(rec.stepTimeS() * 1000);
                    if (rec.step() == WARMUP + steps && instrumented) {
                        jfr.stop();
                        polling.set(false);
                    }
                }
            });
            t.run();
        }
        times.sort(Double::compare);
        if (!instrumented) {
            jfr.close();
            return new Result(times.get(times.size() / 2), times.get(0), Double.NaN, Double.NaN, Double.NaN);
        }
        poll.join();
        double peakRss = (NativeMemory.peakRss() - base[0]) / 1048576.0;
        Path f = Files.createTempFile("merv-bench", ".jfr");
        jfr.dump(f);
        jfr.close();
        long javaSamples = 0;
        long nativeSamples = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(f)) {
            var th = e.getThread("sampledThread");
            if (th == null || th.getJavaName() == null || !th.getJavaName().startsWith("merv-replica")) {
                continue;
            }
            if (e.getEventType().getName().equals("jdk.ExecutionSample")) {
                javaSamples++;
            } else {
                nativeSamples++;
            }
        }
        Files.deleteIfExists(f);
        return new Result(times.get(times.size() / 2), times.get(0), peakRss, (mallocPeak.get() - base[1]) / 1048576.0,
                (double) javaSamples / Math.max(1, javaSamples + nativeSamples));
    }

    static JsonObject runTorch(String runSh, boolean recompute, int steps) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(runSh, "python3", "bench/trainer_step.py", "--threads",
                Integer.toString(ai.djl.pytorch.jni.JniUtils.getNumThreads()), "--steps", Integer.toString(steps), "--warmup",
                Integer.toString(WARMUP), "--vocab", Integer.toString(VOCAB), "--dim", Integer.toString(DIM), "--layers",
                Integer.toString(LAYERS), "--heads", Integer.toString(HEADS), "--hidden", Integer.toString(HIDDEN), "--batch",
                Integer.toString(BATCH), "--seq", Integer.toString(SEQ)));
        if (recompute) {
            cmd.add("--recompute");
        }
        Path repo = Path.of(System.getProperty("user.dir"));
        if (!Files.exists(repo.resolve("bench/trainer_step.py"))) {
            repo = repo.getParent();
        }
        Process p = new ProcessBuilder(cmd).directory(repo.toFile()).redirectErrorStream(true).start();
        String last = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("{")) {
                    last = line;
                } else {
                    System.err.println("torch-ref: " + line);
                }
            }
        }
        if (p.waitFor() != 0 || last == null) {
            throw new IllegalStateException("PyTorch twin failed: " + String.join(" ", cmd));
        }
        return new Gson().fromJson(last, JsonObject.class);
    }
}
