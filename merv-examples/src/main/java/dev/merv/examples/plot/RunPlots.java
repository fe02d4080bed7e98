package dev.merv.examples.plot;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Curves of a run directory's {@code metrics.jsonl} as PNG files: loss, learning rate, gradient norm
 * and (when the fusion reports them) the per-encoder mixing weights.
 */
public final class RunPlots {

    private RunPlots() {}

    /** One metric series: x = step, y = value. */
    public record Series(List<Double> steps, List<Double> values) {}

    /** Reads {@code metrics.jsonl}; lines that are not JSON objects (a crash mid-write) are skipped. */
    public static Map<String, Series> read(Path metrics) throws IOException {
        Map<String, Series> out = new LinkedHashMap<>();
        try (BufferedReader r = Files.newBufferedReader(metrics, StandardCharsets.UTF_8)) {
            String line;
            long lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                JsonObject o;
                try {
                    JsonElement e = JsonParser.parseString(line);
                    if (!e.isJsonObject()) {
                        continue;
                    }
                    o = e.getAsJsonObject();
                } catch (RuntimeException e) {
                    continue;
                }
                double step = o.has("step") ? o.get("step").getAsDouble() : lineNo;
                for (Map.Entry<String, JsonElement> kv : o.entrySet()) {
                    JsonElement v = kv.getValue();
                    if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() && !kv.getKey().equals("step")) {
                        add(out, kv.getKey(), step, v.getAsDouble());
                    } else if (v.isJsonArray()) {
                        for (int i = 0; i < v.getAsJsonArray().size(); i++) {
                            JsonElement x = v.getAsJsonArray().get(i);
                            if (x.isJsonPrimitive() && x.getAsJsonPrimitive().isNumber()) {
                                add(out, kv.getKey() + "[" + i + "]", step, x.getAsDouble());
                            }
                        }
                    } else if (v.isJsonObject()) {
                        for (Map.Entry<String, JsonElement> sub : v.getAsJsonObject().entrySet()) {
                            if (sub.getValue().isJsonPrimitive() && sub.getValue().getAsJsonPrimitive().isNumber()) {
                                add(out, kv.getKey() + "." + sub.getKey(), step, sub.getValue().getAsDouble());
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private static void add(Map<String, Series> m, String key, double step, double value) {
        Series s = m.computeIfAbsent(key, k -> new Series(new ArrayList<>(), new ArrayList<>()));
        if (Double.isFinite(value)) {
            s.steps().add(step);
            s.values().add(value);
        }
    }

    /**
     * Writes one PNG per chart into {@code outDir}: {@code loss.png}, {@code lr.png}, {@code grad_norm.png}
     * and {@code fusion_weights.png} (each only when the run logged that metric). Returns the files written.
     */
    public static List<Path> plotRun(Path runDir, Path outDir) throws IOException {
        Path metrics = runDir.resolve("metrics.jsonl");
        if (!Files.exists(metrics)) {
            throw new IllegalArgumentException(runDir + " has no metrics.jsonl (is it a merv run directory?)");
        }
        Map<String, Series> all = read(metrics);
        Files.createDirectories(outDir);
        List<Path> written = new ArrayList<>();
        chart(all, List.of("loss"), "Training loss", "loss", outDir.resolve("loss.png"), written);
        chart(all, List.of("lr"), "Learning rate", "lr", outDir.resolve("lr.png"), written);
        chart(all, List.of("grad_norm"), "Gradient norm (before clipping)", "norm", outDir.resolve("grad_norm.png"), written);
        // the trainer logs the per-encoder means as the array "mixing_weights" (read as mixing_weights[i])
        List<String> mixing = all.keySet().stream()
                .filter(k -> k.startsWith("mixing_weights") || k.startsWith("fusion_weights")).toList();
        chart(all, mixing, "Fusion mixing weight per encoder", "weight", outDir.resolve("fusion_weights.png"), written);
        return written;
    }

    private static void chart(Map<String, Series> all, List<String> keys, String title, String yLabel, Path file,
            List<Path> written) throws IOException {
        List<String> present = keys.stream().filter(k -> all.containsKey(k) && !all.get(k).values().isEmpty()).toList();
        if (present.isEmpty()) {
            return;
        }
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle(yLabel).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setMarkerSize(0);
        for (String k : present) {
            Series s = all.get(k);
            chart.addSeries(k, s.steps(), s.values());
        }
        writePng(chart, file);
        written.add(file);
    }

    /**
     * Saves a chart as PNG ({@code file} ends with .png). Drawing text needs Java's font rendering, which
     * needs {@code libfreetype}, {@code libharfbuzz} and fontconfig fonts on the machine; where they are
     * missing (a headless root, a bare GPU machine) this throws {@link PlotUnavailableException}
     * instead of an {@link Error}, so that a caller can report it and go on.
     */
    public static void writePng(XYChart chart, Path file) throws IOException {
        java.awt.image.BufferedImage image;
        try {
            image = BitmapEncoder.getBufferedImage(chart);
        } catch (LinkageError | InternalError | java.awt.AWTError | java.awt.HeadlessException e) {
            throw new PlotUnavailableException(file, e);
        }
        // written beside the target and moved over it: a reader never sees half a PNG
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            if (!javax.imageio.ImageIO.write(image, "png", tmp.toFile())) {
                throw new IOException("no PNG writer in this Java runtime (writing " + file + ")");
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** A chart could not be drawn because this machine's Java cannot render text (fonts, libfreetype). */
    public static final class PlotUnavailableException extends IOException {
        private static final long serialVersionUID = 1L;

        PlotUnavailableException(Path file, Throwable cause) {
            super("cannot draw " + file + ": Java's font rendering is unavailable on this machine (" + cause
                    + "); install libfreetype6, libharfbuzz0b and fontconfig with a font, or plot metrics.jsonl elsewhere"
                    + " with ./merv plot", cause);
        }
    }

    /** A single-series loss chart (the demo's plot). */
    public static void lossPlot(List<Double> steps, List<Double> losses, String title, Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle("loss").build();
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setLegendVisible(false);
        chart.addSeries("loss", steps, losses);
        Files.createDirectories(file.toAbsolutePath().getParent());
        writePng(chart, file);
    }
}
