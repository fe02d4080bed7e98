package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code metrics.jsonl} keeps the reference's names beside merv's (docs/troubleshooting.md): {@code P/Loss} is
 * the mean of the last 128 micro-batch losses, {@code P/Loss (Raw)} this step's, {@code P/Step Time} the mean
 * of the last 128 step times, {@code P/Learning Rate} the rate after the step. The expected values are
 * computed here from the raw inputs; the log itself is optional and never stops a run.
 */
class MetricsLogTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream reported = new ByteArrayOutputStream();
    private final PrintStream report = new PrintStream(reported, true, StandardCharsets.UTF_8);

    private static StepRecord step(long n, double time) {
        return new StepRecord(n, 0, 1.0 / n, 1e-3, 0.5, true, 100, 4, 0, 0.0, time, new float[0]);
    }

    @Test
    void referenceNamesWithTheirWindows() throws Exception {
        Path f = dir.resolve("metrics.jsonl");
        int accumulation = 3;
        int steps = 100; // 300 micro-batches: the 128-entry window rolls
        Random rnd = new Random(5);
        List<Double> micro = new ArrayList<>();
        List<Double> times = new ArrayList<>();
        try (MetricsLog log = new MetricsLog(f, 0, "Align", Checkpoints.Smoothing.EMPTY, report)) {
            for (int s = 1; s <= steps; s++) {
                double[] m = new double[accumulation];
                for (int i = 0; i < accumulation; i++) {
                    m[i] = 2 + rnd.nextDouble();
                    micro.add(m[i]);
                }
                double time = 0.1 + rnd.nextDouble();
                times.add(time);
                log.write(step(s, time), m, 0.01 * s);
            }
        }
        List<String> lines = Files.readAllLines(f);
        assertThat(lines).hasSize(steps);
        for (int s = 1; s <= steps; s++) {
            JsonObject o = JsonParser.parseString(lines.get(s - 1)).getAsJsonObject();
            int end = s * accumulation;
            assertThat(o.get("Align/Step").getAsLong()).isEqualTo(s);
            assertThat(o.get("Align/Loss").getAsDouble()).as("step %d", s)
                    .isCloseTo(mean(micro.subList(Math.max(0, end - 128), end)), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(o.get("Align/Loss (Raw)").getAsDouble())
                    .isCloseTo(mean(micro.subList(end - accumulation, end)), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(o.get("Align/Step Time").getAsDouble())
                    .isCloseTo(mean(times.subList(Math.max(0, s - 128), s)), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(o.get("Align/Learning Rate").getAsDouble()).isEqualTo(0.01 * s);
            // merv's own keys stay
            assertThat(o.get("loss").getAsDouble()).isEqualTo(1.0 / s);
            assertThat(o.get("lr").getAsDouble()).isEqualTo(1e-3);
            assertThat(o.has("grad_norm")).isTrue();
        }
    }

    @Test
    void aRestoredWindowContinuesAndAResumeDropsLaterAndBrokenLines() throws Exception {
        Path f = dir.resolve("metrics.jsonl");
        Checkpoints.Smoothing at2;
        try (MetricsLog log = new MetricsLog(f, 0, "Finetune", Checkpoints.Smoothing.EMPTY, report)) {
            log.start(0, null, "no checkpoint yet", List.of());
            log.write(step(1, 1.0), new double[] {1.0, 3.0}, 0.1);
            log.write(step(2, 3.0), new double[] {5.0, 7.0}, 0.1);
            at2 = log.smoothing();
            log.write(step(3, 5.0), new double[] {100.0, 100.0}, 0.1);
        }
        Files.writeString(f, "{\"step\": 4, \"loss\": 1.", java.nio.file.StandardOpenOption.APPEND); // cut by a crash
        try (MetricsLog log = new MetricsLog(f, 2, "Finetune", at2, report)) {
            log.start(2, dir.resolve("step-2-loss=1.0"), "newest checkpoint", List.of());
            log.write(step(3, 5.0), new double[] {9.0, 11.0}, 0.1);
        }
        // a start at step 2 that crashed before writing anything leaves a line the next start at 2 replaces
        try (MetricsLog log = new MetricsLog(f, 3, "Finetune", at2, report)) {
            log.start(3, dir.resolve("step-3"), "newest checkpoint", List.of());
        }
        try (MetricsLog log = new MetricsLog(f, 3, "Finetune", at2, report)) {
            log.start(3, dir.resolve("step-3"), "newest checkpoint", List.of());
        }
        List<String> lines = Files.readAllLines(f);
        assertThat(lines).hasSize(6);
        assertThat(lines.get(5)).contains("\"event\":\"start\"", "step-3");
        assertThat(lines.get(0)).contains("\"event\":\"start\"", "\"start\":\"fresh\"");
        assertThat(lines.get(3)).contains("\"event\":\"start\"", "\"start\":\"resumed\"", "step-2-loss=1.0");
        JsonObject last = JsonParser.parseString(lines.get(4)).getAsJsonObject();
        assertThat(last.get("step").getAsLong()).isEqualTo(3);
        assertThat(last.get("Finetune/Loss").getAsDouble()).isEqualTo((1 + 3 + 5 + 7 + 9 + 11) / 6.0);
        assertThat(last.get("Finetune/Step Time").getAsDouble()).isEqualTo(3.0);
    }

    @Test
    void aMetricsFileThatCannotBeWrittenIsReportedAndSkipped() throws Exception {
        Path f = dir.resolve("metrics.jsonl");
        Files.createDirectories(f); // a directory where the file should be: every write fails
        try (MetricsLog log = new MetricsLog(f, 0, "Finetune", Checkpoints.Smoothing.EMPTY, report)) {
            log.write(step(1, 1.0), new double[] {1.0}, 0.1);
            log.write(step(2, 1.0), new double[] {1.0}, 0.1);
            Files.delete(f);
            log.write(step(3, 1.0), new double[] {1.0}, 0.1);
        }
        String said = reported.toString(StandardCharsets.UTF_8);
        assertThat(said).containsOnlyOnce("training goes on").contains("writing " + f + " again (2 line(s) lost)");
        assertThat(Files.readAllLines(f)).singleElement().asString().contains("\"step\":3");
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
