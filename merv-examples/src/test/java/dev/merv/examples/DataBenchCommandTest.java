package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.data.synth.SynthDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./merv data bench} end to end on generated data: the decode line, the loader line, bad usage. */
class DataBenchCommandTest {

    @TempDir
    Path dir;

    @Test
    void benchesOneVideoAndTheWholeLoader() throws Exception {
        SynthDataset.Manifest m = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 3, 11));
        Path video;
        try (var files = Files.walk(m.root())) {
            video = files.filter(p -> p.toString().endsWith(".mp4")).sorted().findFirst().orElseThrow();
        }
        Launch d = Launch.run("data", "bench", "--video", video.toString(), "--frames", "8", "--threads", "1", "--runs", "2");
        assertThat(d.code()).as(d.all()).isZero();
        String[] lines = d.out().strip().split("\n");
        assertThat(lines[lines.length - 1]).matches("decode: 8 frames of \\d+ \\(\\d+ decoded\\) in \\d+\\.\\d ms median of 2 runs");

        Launch l = Launch.run("data", "bench", "--root", m.root().toString(), "--model.type", "merv-tiny", "--samples", "4",
                "--threads", "1", "--batch", "2");
        assertThat(l.code()).as(l.all()).isZero();
        assertThat(l.out()).containsPattern("loader: \\d+ samples \\(\\d+ videos, \\d+ images, \\d+ text; 0 skipped\\) in "
                + "[0-9.]+ s with 1 threads: [0-9.]+ clips/s, [0-9.]+ clips/s per core");
    }

    @Test
    void needsExactlyOneOfVideoAndRoot() {
        assertThat(Launch.run("data", "bench").code()).isEqualTo(2);
        assertThat(Launch.run("data", "bench", "--video", "a.mp4", "--root", "b").code()).isEqualTo(2);
        Launch bad = Launch.run("data", "bench", "--video", "a.mp4", "--colour", "red");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--colour");
    }
}
