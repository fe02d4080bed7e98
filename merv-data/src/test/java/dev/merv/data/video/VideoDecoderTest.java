package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.synth.SynthDataset.Clip;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoDecoderTest {

    @TempDir
    Path dir;

    private Path video(String name, int frames, boolean faststart) throws Exception {
        Path p = dir.resolve(name);
        SynthDataset.writeVideo(p, 64, 48, frames, 16, new Clip("blue", "right", "circle"), 5, faststart);
        return p;
    }

    @Test
    void forwardSamplingEqualsPickingFromAFullDecode() throws Exception {
        for (boolean faststart : new boolean[] {false, true}) {
            Path p = video("v" + faststart + ".mp4", 41, faststart);
            VideoDecoder dec = new VideoDecoder();
            List<Frame> all = new ArrayList<>();
            int n = dec.decodeAll(p, all::add);
            assertThat(n).isEqualTo(41);
            assertThat(dec.frameCount(p)).isEqualTo(41);
            SampledVideo s = dec.decodeSampled(p, 32);
            assertThat(s.numFrames()).isEqualTo(41);
            assertThat(s.indices()).containsExactly(FrameSampling.videoIndices(41, 16, 32));
            for (int k = 0; k < 32; k++) {
                assertThat(s.frames().get(k).rgb()).as("sample %d = frame %d", k, s.indices()[k])
                        .isEqualTo(all.get(s.indices()[k]).rgb());
            }
            // the decoded content is the rendered content (lossy codec: close, not equal)
            Frame rendered = SynthDataset.render(64, 48, new Clip("blue", "right", "circle"), background(all.get(0)), 0);
            assertThat(meanAbsDiff(rendered, all.get(0))).isLessThan(4.0);
        }
    }

    @Test
    void skippingGopsGivesTheSequentialFrames() throws Exception {
        Path p = video("gops.mp4", 500, false);
        Path fs = video("gopsfs.mp4", 333, true);
        for (Path v : List.of(p, fs)) {
            VideoDecoder sequential = new VideoDecoder(VideoDecoder.Options.defaults().sequential());
            VideoDecoder skipping = new VideoDecoder(VideoDecoder.Options.defaults().withPlan(true, false));
            for (int k : new int[] {8, 32}) {
                SampledVideo a = sequential.decodeSampled(v, k);
                SampledVideo b = skipping.decodeSampled(v, k);
                assertThat(b.indices()).containsExactly(a.indices());
                assertThat(a.decodedFrames()).isEqualTo(a.indices()[k - 1] + 1);
                if (k == 8) {
                    // GOPs of 12 frames, a sample every ~40-70 frames: most GOPs are never decoded
                    assertThat(b.decodedFrames()).as("frames decoded when skipping GOPs").isLessThan(a.decodedFrames() / 2);
                }
                for (int i = 0; i < k; i++) {
                    assertThat(b.frames().get(i).rgb()).as("%s k=%d sample %d (frame %d)", v.getFileName(), k, i,
                            a.indices()[i]).isEqualTo(a.frames().get(i).rgb());
                }
            }
        }
        // the timeout also covers the skipping path
        VideoDecoder ticking = new VideoDecoder(VideoDecoder.Options.defaults()
                .withTimeout(100_000_000L, DecodeClock.ticking(1_000_000L)));
        assertThatThrownBy(() -> ticking.decodeSampled(p, 32)).isInstanceOf(SampleException.class)
                .extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.TIMEOUT);
    }

    @Test
    void moreSamplesThanFramesRepeatFrames() throws Exception {
        Path p = video("short.mp4", 5, false);
        SampledVideo s = new VideoDecoder().decodeSampled(p, 8);
        assertThat(s.indices()).containsExactly(0, 0, 1, 1, 2, 2, 3, 4);
        assertThat(s.frames().get(0)).isSameAs(s.frames().get(1));
    }

    @Test
    void timeoutIsMeasuredPerDecodeAndReproducible() throws Exception {
        Path shortVideo = video("ok.mp4", 48, false);
        Path longVideo = video("long.mp4", 400, false);
        VideoDecoder dec = new VideoDecoder(VideoDecoder.Options.defaults()
                .withTimeout(200_000_000L, DecodeClock.ticking(1_000_000L)));
        assertThat(dec.decodeSampled(shortVideo, 32).frames()).hasSize(32);
        assertThatThrownBy(() -> dec.decodeSampled(longVideo, 32)).isInstanceOf(SampleException.class)
                .hasMessageContaining("long.mp4").extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.TIMEOUT);
    }

    @Test
    void badFilesHaveReasons() throws Exception {
        VideoDecoder dec = new VideoDecoder();
        assertReason(dec, dir.resolve("nope.mp4"), SkipReason.MISSING);
        Path junk = dir.resolve("junk.mp4");
        Files.write(junk, "definitely not an mp4 file, just text".repeat(50).getBytes());
        assertReason(dec, junk, SkipReason.CORRUPT);
        Path full = video("full.mp4", 48, false);
        Path cut = dir.resolve("cut.mp4");
        byte[] b = Files.readAllBytes(full);
        Files.write(cut, Arrays.copyOf(b, b.length / 2));
        assertReason(dec, cut, SkipReason.CORRUPT);
        Path fullFs = video("fullfs.mp4", 48, true);
        Path cutFs = dir.resolve("cutfs.mp4");
        b = Files.readAllBytes(fullFs);
        Files.write(cutFs, Arrays.copyOf(b, b.length * 2 / 5));
        assertReason(dec, cutFs, SkipReason.CORRUPT);
        Path empty = dir.resolve("empty.mp4");
        new VideoWriter(empty, 64, 48, 16, false).close();
        assertReason(dec, empty, SkipReason.EMPTY);
    }

    @Test
    void frameSideCapDownscales() throws Exception {
        Path p = video("cap.mp4", 8, false);
        VideoDecoder dec = new VideoDecoder(VideoDecoder.Options.defaults().withMaxFrameSide(32));
        Frame f = dec.decodeSampled(p, 2).frames().get(0);
        assertThat(f.width()).isEqualTo(32);
        assertThat(f.height()).isEqualTo(24);
    }

    private static void assertReason(VideoDecoder dec, Path p, SkipReason reason) {
        assertThatThrownBy(() -> dec.decodeSampled(p, 32)).isInstanceOf(SampleException.class)
                .satisfies(e -> assertThat(((SampleException) e).reason()).as(e.getMessage()).isEqualTo(reason))
                .hasMessageContaining(p.getFileName().toString())
                .extracting(e -> ((SampleException) e).reason()).isEqualTo(reason);
    }

    private static int[] background(Frame f) {
        return new int[] {f.rgb()[0] & 255, f.rgb()[1] & 255, f.rgb()[2] & 255};
    }

    private static double meanAbsDiff(Frame a, Frame b) {
        long s = 0;
        for (int i = 0; i < a.rgb().length; i++) {
            s += Math.abs((a.rgb()[i] & 255) - (b.rgb()[i] & 255));
        }
        return s / (double) a.rgb().length;
    }
}
