package dev.merv.train;

import dev.merv.core.config.Resume;
import dev.merv.core.model.Precision;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.train.NativeMemory;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Soak: many optimizer steps of merv-tiny as a long run does them (bf16 compute, per-layer recomputation,
 * gradient accumulation, the real video data path, a checkpoint every 500 steps with rotation) with a stop
 * half-way and a {@code --resume auto} in the same JVM. Every checkpoint is verified right after it is
 * written ({@link Checkpoints#verify}); every {@code sample} steps the native memory in use (glibc malloc,
 * where libtorch's CPU tensors live), the resident set and the Java heap after a GC are recorded. Prints the
 * memory curve and its drift after warm-up, and writes it as CSV. Not a test: it takes an hour on a loaded
 * 2-core machine.
 *
 * <pre>
 *   ./mvnw -o -q -pl merv-data -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/soak.cp
 *   java -Xmx2g -cp "merv-data/target/test-classes:merv-data/target/classes:$(cat /tmp/soak.cp)" \
 *       dev.merv.train.SoakBench [--steps 10000] [--every 500] [--resume_at 5000] [--sample 100] [--warmup 1000] [--out DIR]
 * </pre>
 */
public final class SoakBench {

    private SoakBench() {}

    /** One memory sample. */
    record Sample(long step, double elapsedS, double stepMs, double loss, double mallocMb, double rssMb, double heapMb) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int steps = Integer.parseInt(a.getOrDefault("steps", "10000"));
        int every = Integer.parseInt(a.getOrDefault("every", "500"));
        int sample = Integer.parseInt(a.getOrDefault("sample", "100"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "1000"));
        Path out = Path.of(a.getOrDefault("out", Files.createTempDirectory("merv-soak").toString()));
        // where the run is stopped and resumed (a multiple of the checkpoint interval; default half-way)
        int half = Integer.parseInt(a.getOrDefault("resume_at", Integer.toString(steps / 2 / every * every)));
        Files.createDirectories(out);

        TinySetup setup = TinySetup.get();
        Path runRoot = out.resolve("runs");
        Path csv = out.resolve("memory.csv");
        List<Sample> samples = new ArrayList<>();
        List<String> verified = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        long t0 = System.nanoTime();
        long[] last = {0, System.nanoTime()};
        System.out.printf(Locale.ROOT, "soak: merv-tiny, bf16, recompute, global batch 8 = 4 per device x 2 accumulation,"
                + " %d steps, checkpoint every %d (keep 3), stopped at %d and resumed with --resume auto; out %s%n",
                steps, every, half, out);
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv, StandardCharsets.UTF_8), true)) {
            w.println("step,elapsed_s,step_ms,loss,malloc_mb,rss_mb,heap_mb");
            for (int part = 0; part < 2; part++) {
                Training.Builder b = setup.training(runRoot).runId("soak").maxSteps(steps).saveEvery(every)
                        .keepCheckpoints(3).precision(Precision.BF16).recompute(true).globalBatchSize(8)
                        .perDeviceBatchSize(4).warmupRatio(0.03).learningRate(1e-3);
                if (part == 0) {
                    b.stopAfterSteps(half);
                } else {
                    b.resume(Resume.AUTO);
                }
                b.onStep(r -> {
                    if (r.step() % every == 1 && r.step() > 1) {
                        verifyLatest(runRoot.resolve("soak"), verified, problems);
                    }
                    if (r.step() % sample == 0) {
                        long now = System.nanoTime();
                        double stepMs = (now - last[1]) / 1e6 / Math.max(1, r.step() - last[0]);
                        last[0] = r.step();
                        last[1] = now;
                        System.gc();
                        Runtime rt = Runtime.getRuntime();
                        Sample s = new Sample(r.step(), (now - t0) / 1e9, stepMs, r.loss(),
                                NativeMemory.mallocInUse() / 1048576.0, NativeMemory.rss() / 1048576.0,
                                (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
                        samples.add(s);
                        w.printf(Locale.ROOT, "%d,%.1f,%.1f,%.4f,%.1f,%.1f,%.1f%n", s.step(), s.elapsedS(), s.stepMs(),
                                s.loss(), s.mallocMb(), s.rssMb(), s.heapMb());
                        if (r.step() % (sample * 10L) == 0) {
                            print(s);
                        }
                    }
                });
                TrainingResult result = b.build().run();
                last[1] = System.nanoTime();
                verifyLatest(runRoot.resolve("soak"), verified, problems);
                System.out.printf(Locale.ROOT, "part %d: steps %d-%d, last loss %.4f%n", part + 1,
                        result.steps().get(0).step(), result.steps().get(result.steps().size() - 1).step(),
                        result.steps().get(result.steps().size() - 1).loss());
            }
        }
        System.out.printf(Locale.ROOT, "%ncheckpoints verified right after writing: %d, damaged: %d %s%n",
                verified.size(), problems.size(), problems);
        for (Path p : Checkpoints.list(runRoot.resolve("soak/checkpoints"))) {
            System.out.printf(Locale.ROOT, "  kept %s: %s%n", p.getFileName(),
                    Checkpoints.verify(p).isEmpty() ? "intact" : Checkpoints.verify(p));
        }
        summary(samples, warmup, half);
        System.out.println("memory curve: " + csv);
        System.exit(problems.isEmpty() ? 0 : 1);
    }

    private static void verifyLatest(Path runDir, List<String> verified, List<String> problems) {
        Path latest = Checkpoints.latest(runDir);
        String name = latest.getFileName().toString();
        if (verified.contains(name)) {
            return;
        }
        List<Checkpoints.Damage> d = Checkpoints.verify(latest);
        verified.add(name);
        if (!d.isEmpty()) {
            problems.add(d.toString());
        }
    }

    private static void print(Sample s) {
        System.out.printf(Locale.ROOT, "step %6d  %7.0f s  %6.1f ms/step  loss %.4f  malloc %7.1f MB  rss %7.1f MB"
                + "  heap %6.1f MB%n", s.step(), s.elapsedS(), s.stepMs(), s.loss(), s.mallocMb(), s.rssMb(), s.heapMb());
    }

    /** Min, max and least-squares slope (MB per 1,000 steps) of each curve after warm-up, before and after the resume. */
    private static void summary(List<Sample> all, int warmup, int half) {
        List<Sample> after = all.stream().filter(s -> s.step() >= warmup).toList();
        if (after.size() < 2) {
            System.out.println("too few samples after warm-up for a summary");
            return;
        }
        System.out.printf(Locale.ROOT, "%nafter warm-up (step >= %d, %d samples):%n", warmup, after.size());
        System.out.printf(Locale.ROOT, "%-10s %10s %10s %12s %22s%n", "", "min MB", "max MB", "max-min MB",
                "slope MB/1k steps");
        row("malloc", after, Sample::mallocMb);
        row("rss", after, Sample::rssMb);
        row("java heap", after, Sample::heapMb);
        List<Sample> first = after.stream().filter(s -> s.step() <= half).toList();
        List<Sample> second = after.stream().filter(s -> s.step() > half).toList();
        if (!first.isEmpty() && !second.isEmpty()) {
            System.out.printf(Locale.ROOT, "malloc mean before the resume %.1f MB, after %.1f MB%n",
                    first.stream().mapToDouble(Sample::mallocMb).average().orElse(0),
                    second.stream().mapToDouble(Sample::mallocMb).average().orElse(0));
        }
    }

    private static void row(String name, List<Sample> s, java.util.function.ToDoubleFunction<Sample> f) {
        double min = s.stream().mapToDouble(f).min().orElse(0);
        double max = s.stream().mapToDouble(f).max().orElse(0);
        double mx = s.stream().mapToDouble(Sample::step).average().orElse(0);
        double my = s.stream().mapToDouble(f).average().orElse(0);
        double num = 0;
        double den = 0;
        for (Sample x : s) {
            num += (x.step() - mx) * (f.applyAsDouble(x) - my);
            den += (x.step() - mx) * (x.step() - mx);
        }
        System.out.printf(Locale.ROOT, "%-10s %10.1f %10.1f %12.1f %22.3f%n", name, min, max, max - min,
                den == 0 ? 0 : num / den * 1000);
    }
}
