package dev.merv.core.train;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line console progress bar with ETA, redrawn in place after every optimizer step. */
final class ProgressLine {

    private final PrintStream out;
    private final long total;
    private final long startStep;
    private final long startNs = System.nanoTime();

    ProgressLine(PrintStream out, long startStep, long total) {
        this.out = out;
        this.startStep = startStep;
        this.total = total;
    }

    void update(StepRecord r) {
        long done = r.step() - startStep;
        double elapsed = (System.nanoTime() - startNs) / 1e9;
        double eta = done > 0 ? elapsed / done * (total - r.step()) : 0;
        int width = 30;
        int filled = (int) (width * r.step() / Math.max(1, total));
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        out.print(String.format(Locale.ROOT, "\r[%s] %d/%d loss %.4f lr %.3g |g| %.3f %.0f tok/s ETA %s%s", bar, r.step(),
                total, r.loss(), r.lr(), r.gradNorm(), r.tokens() / Math.max(1e-9, r.stepTimeS()), hms(eta),
                r.updated() ? "" : " (skipped: non-finite)"));
        if (r.step() >= total) {
            out.println();
        }
        out.flush();
    }

    static String hms(double s) {
        long t = (long) s;
        return String.format(Locale.ROOT, "%02d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
    }
}
