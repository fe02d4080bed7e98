package dev.merv.examples.plot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine whose Java cannot render text (no usable libfreetype, as in a bare root or GPU machine)
 * gets a {@link RunPlots.PlotUnavailableException} from the loss plot, not an {@link Error} that ends
 * the run. The child JVM finds a broken {@code libfreetype.so.6} first on its library path, which is
 * exactly how Java's font manager fails where the library is missing.
 */
class RunPlotsHeadlessTest {

    static final String OK = "plot-probe: wrote";
    static final String UNAVAILABLE = "plot-probe: unavailable: ";

    /** Child JVM: draws one loss plot into args[0] and says what happened. */
    public static void main(String[] args) throws Exception {
        try {
            RunPlots.lossPlot(List.of(1.0, 2.0, 3.0), List.of(3.0, 2.0, 1.5), "probe", Path.of(args[0]));
            System.out.println(OK);
        } catch (RunPlots.PlotUnavailableException e) {
            System.out.println(UNAVAILABLE + e.getMessage());
        }
    }

    @Test
    void missingFontLibrariesAreReportedNotFatal(@TempDir Path tmp) throws Exception {
        Path bogus = Files.createDirectories(tmp.resolve("lib"));
        Files.writeString(bogus.resolve("libfreetype.so.6"), "not a shared object");
        Path log = tmp.resolve("child.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
                RunPlotsHeadlessTest.class.getName(), tmp.resolve("loss.png").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LD_LIBRARY_PATH", bogus.toString());
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains(UNAVAILABLE).contains("loss.png").contains("libfreetype").doesNotContain(OK);
        assertThat(tmp.resolve("loss.png")).doesNotExist();
    }
}
