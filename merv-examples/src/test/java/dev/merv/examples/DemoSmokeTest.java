package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.examples.demo.Demo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded demo, shrunk (8 videos, 4 held back, 6 steps): it runs through and its last line is parseable. */
class DemoSmokeTest {

    @Test
    void demoRunsAndPrintsTheMachineReadableLine(@TempDir Path tmp) throws Exception {
        Demo.Result r = Demo.run(new Demo.Settings(tmp, 8, 4, 6, 1, 2, 3e-3));
        assertThat(r.line()).matches(
                "demo: accuracy before \\d+% after \\d+% on \\d+ held-back questions, loss [0-9.]+ -> [0-9.]+, plot .+");
        assertThat(r.questions()).isEqualTo(4);
        assertThat(r.accuracyBefore()).isBetween(0.0, 1.0);
        assertThat(r.accuracyAfter()).isBetween(0.0, 1.0);
        assertThat(r.firstLoss()).isFinite().isPositive();
        assertThat(r.lastLoss()).isFinite().isPositive();
        assertThat(r.plot()).isRegularFile();
        assertThat(r.line()).endsWith("plot " + r.plot());
        byte[] png = Files.readAllBytes(r.plot());
        assertThat(png).hasSizeGreaterThan(8);
        assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
    }
}
