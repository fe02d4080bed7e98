package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.synth.SynthDataset.Clip;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decode budgets in CPU time of the decoding thread: time the thread does not run (waiting for a core on a
 * loaded machine, simulated by sleeping at every clock reading) costs nothing, so a video a wall-clock
 * budget would skip under load is kept; work does count.
 */
class DecodeClockTest {

    @TempDir
    Path dir;

    /** {@code base} read after the thread was kept off the CPU for {@code stallMs} (a loaded machine). */
    static DecodeClock stalled(DecodeClock base, long stallMs) {
        return () -> {
            DecodeClock.Timer t = base.start();
            return () -> {
                try {
                    Thread.sleep(stallMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return t.elapsedNanos();
            };
        };
    }

    @Test
    void theDefaultClockCountsTheDecodingThreadsCpuTimeOnly() throws Exception {
        assertThat(VideoDecoder.Options.defaults().clock()).isSameAs(DecodeClock.THREAD_CPU);
        DecodeClock.Timer t = DecodeClock.THREAD_CPU.start();
        Thread.sleep(300);
        assertThat(t.elapsedNanos()).isLessThan(100_000_000L);
        long spinUntil = System.nanoTime() + 300_000_000L;
        long x = 0;
        while (System.nanoTime() < spinUntil) {
            x += System.nanoTime() % 7;
        }
        // at least part of the 300 ms of spinning ran on a core (a loaded 2-core machine may share it)
        assertThat(t.elapsedNanos()).as("cpu after spinning (%d)", x).isGreaterThan(20_000_000L);
    }

    @Test
    void aLoadedMachineSkipsNoVideoAQuietOneKeeps() throws Exception {
        Path v = dir.resolve("v.mp4");
        SynthDataset.writeVideo(v, 64, 48, 60, 16, new Clip("red", "left", "square"), 3, false);
        // 60 packets read, each after 10 ms off the CPU: at least 0.6 s of wall-clock time, little CPU time
        long budget = 400_000_000L;
        VideoDecoder cpu = new VideoDecoder(VideoDecoder.Options.defaults().withTimeout(budget,
                stalled(DecodeClock.THREAD_CPU, 10)));
        assertThat(cpu.decodeSampled(v, 8).frames()).hasSize(8);
        VideoDecoder wall = new VideoDecoder(VideoDecoder.Options.defaults().withTimeout(budget,
                stalled(DecodeClock.SYSTEM, 10)));
        assertThatThrownBy(() -> wall.decodeSampled(v, 8)).isInstanceOf(SampleException.class)
                .extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.TIMEOUT);
        // a budget the work itself exceeds still skips the video
        VideoDecoder tiny = new VideoDecoder(VideoDecoder.Options.defaults().withTimeout(1, DecodeClock.THREAD_CPU));
        assertThatThrownBy(() -> tiny.decodeSampled(v, 8)).isInstanceOf(SampleException.class)
                .extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.TIMEOUT);
    }
}
