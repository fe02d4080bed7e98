package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Planned decoding (packet index, forward seeks to key frames, dropped non-reference pictures) on the
 * committed test clips ({@code tools/test-media/make-test-clips.sh}: H.264 with B-pyramids and open GOPs,
 * HEVC with open GOPs and temporal sub-layers, VP8, VP9, AV1, MPEG-4 Part 2, MPEG-2 in MPEG-TS, odd sizes,
 * rotation, variable frame rate, full range, 10-bit): every mode gives exactly the frames of a sequential
 * decode of every frame, for sample counts from 1 to more than the clip's frames, and actually decodes less.
 */
class PlannedDecodeClipsTest {

    static final List<VideoDecoder.Options> MODES = List.of(
            VideoDecoder.Options.defaults().withPlan(true, false),
            VideoDecoder.Options.defaults().withPlan(false, true),
            VideoDecoder.Options.defaults(),
            // frame threading: the decoder takes its drop setting with each packet
            VideoDecoder.Options.defaults().withDecoderThreads(2));

    static Path dir() throws URISyntaxException {
        return Path.of(PlannedDecodeClipsTest.class.getClassLoader().getResource("video-clips").toURI());
    }

    static Stream<String> clips() throws IOException, URISyntaxException {
        try (Stream<Path> s = Files.list(dir())) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> !n.contains("editlist")).sorted().toList();
            assertThat(names).hasSizeGreaterThanOrEqualTo(20);
            return names.stream();
        }
    }

    static List<Frame> all(Path p) throws Exception {
        List<Frame> all = new ArrayList<>();
        new VideoDecoder(VideoDecoder.Options.defaults().sequential()).decodeAll(p, all::add);
        return all;
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("clips")
    void everyModeGivesTheSequentialFrames(String name) throws Exception {
        Path p = dir().resolve(name);
        List<Frame> all = all(p);
        int n = all.size();
        VideoDecoder sequential = new VideoDecoder(VideoDecoder.Options.defaults().sequential());
        assertThat(sequential.frameCount(p)).as("%s: frame count = frames a full decode gives", name).isEqualTo(n);
        int[] ks = {1, 3, 8, 32, n + 5};
        int[][] decoded = new int[MODES.size() + 1][ks.length];
        for (int ki = 0; ki < ks.length; ki++) {
            int k = ks[ki];
            SampledVideo seq = sequential.decodeSampled(p, k);
            check(name + " sequential k=" + k, seq, all);
            decoded[0][ki] = seq.decodedFrames();
            for (int m = 0; m < MODES.size(); m++) {
                VideoDecoder.Options o = MODES.get(m);
                SampledVideo s = new VideoDecoder(o).decodeSampled(p, k);
                String what = name + " seek=" + o.seekKeyFrames() + " drop=" + o.dropNonReference() + " threads="
                        + o.decoderThreads() + " k=" + k;
                assertThat(s.indices()).as(what + ": indices").containsExactly(seq.indices());
                assertThat(s.numFrames()).as(what).isEqualTo(n);
                check(what, s, all);
                assertThat(s.decodedFrames()).as(what + ": decoded frames").isLessThanOrEqualTo(seq.decodedFrames());
                decoded[m + 1][ki] = s.decodedFrames();
            }
        }
        System.out.printf("%-20s %4d frames; decoded for k=%s: sequential %s, seek %s, drop %s, both %s (2 threads %s)%n",
                name, n, java.util.Arrays.toString(ks), java.util.Arrays.toString(decoded[0]),
                java.util.Arrays.toString(decoded[1]), java.util.Arrays.toString(decoded[2]),
                java.util.Arrays.toString(decoded[3]), java.util.Arrays.toString(decoded[4]));
        // three samples (first, middle, last frame) in clips with key frames every 24-30 frames: seeking
        // passes over whole GOPs
        assertThat(decoded[1][1]).as("%s: seeking decodes fewer frames for k=3", name).isLessThan(decoded[0][1]);
        if (DROPS_PICTURES.containsKey(name.substring(0, name.indexOf('.')))) {
            assertThat(decoded[2][2]).as("%s: dropping non-reference pictures decodes fewer frames for k=8", name)
                    .isLessThan(decoded[0][2]);
        }
    }

    /** Clips with non-reference pictures the decoder can drop (B-frames without a reference role). */
    static final Map<String, Boolean> DROPS_PICTURES = Map.ofEntries(Map.entry("h264-bpyramid", true),
            Map.entry("h264-opengop", true), Map.entry("hevc", true), Map.entry("hevc-temporal", true),
            Map.entry("mpeg4", true), Map.entry("mpeg2", true), Map.entry("odd-h264", true), Map.entry("vfr", true),
            Map.entry("fullrange-h264", true), Map.entry("limited-h264", true), Map.entry("10bit-h264", true),
            Map.entry("10bit-hevc", true), Map.entry("rotate90", true), Map.entry("rotate180", true),
            Map.entry("rotate270", true));

    private static void check(String what, SampledVideo s, List<Frame> all) {
        assertThat(s.frames()).as(what).hasSize(s.indices().length);
        for (int i = 0; i < s.indices().length; i++) {
            Frame want = all.get(s.indices()[i]);
            Frame got = s.frames().get(i);
            assertThat(got.width()).as("%s: sample %d width", what, i).isEqualTo(want.width());
            assertThat(got.rgb()).as("%s: sample %d (frame %d)", what, i, s.indices()[i]).isEqualTo(want.rgb());
        }
    }

    /**
     * A video cut without re-encoding keeps the packets from the key frame before the cut, marked to be
     * decoded but not shown; its container frame count includes them. They are no frames: the count and the
     * sampled indices are those of the shown frames, as a full decode gives them. Sequential mode trusts the
     * container's count and so fails on such a file (as the decoder did before planning).
     */
    @Test
    void anEditListsHiddenLeadInIsNoFrames() throws Exception {
        Path p = dir().resolve("h264-editlist.mp4");
        List<Frame> all = all(p);
        int n = all.size();
        VideoDecoder sequential = new VideoDecoder(VideoDecoder.Options.defaults().sequential());
        assertThat(sequential.frameCount(p)).as("the container counts the lead-in").isGreaterThan(n);
        assertThat(new VideoDecoder().frameCount(p)).isEqualTo(n);
        for (VideoDecoder.Options o : MODES) {
            for (int k : new int[] {1, 3, 8, 32, n + 5}) {
                SampledVideo s = new VideoDecoder(o).decodeSampled(p, k);
                String what = "h264-editlist seek=" + o.seekKeyFrames() + " drop=" + o.dropNonReference() + " k=" + k;
                assertThat(s.numFrames()).as(what).isEqualTo(n);
                assertThat(s.indices()).as(what).containsExactly(FrameSampling.videoIndices(n, s.avgFps(), k));
                check(what, s, all);
            }
        }
        assertThatThrownBy(() -> sequential.decodeSampled(p, 8)).isInstanceOf(SampleException.class)
                .extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.CORRUPT);
    }

    @Test
    void rotationTurnsFramesClockwiseAsTheDisplayMatrixSays() throws Exception {
        List<Frame> base = all(dir().resolve("h264-bpyramid.mp4"));
        for (int deg : new int[] {90, 180, 270}) {
            List<Frame> rotated = all(dir().resolve("rotate" + deg + ".mp4"));
            assertThat(rotated).hasSameSizeAs(base);
            for (int i = 0; i < base.size(); i++) {
                Frame b = base.get(i);
                Frame r = rotated.get(i);
                boolean swap = deg != 180;
                assertThat(r.width()).isEqualTo(swap ? b.height() : b.width());
                assertThat(r.height()).isEqualTo(swap ? b.width() : b.height());
                for (int y = 0; y < r.height(); y++) {
                    for (int x = 0; x < r.width(); x++) {
                        // the stored pixel each displayed pixel comes from after a clockwise turn
                        int sx = deg == 90 ? y : deg == 180 ? b.width() - 1 - x : b.width() - 1 - y;
                        int sy = deg == 90 ? b.height() - 1 - x : deg == 180 ? b.height() - 1 - y : x;
                        for (int c = 0; c < 3; c++) {
                            if (r.rgb()[(y * r.width() + x) * 3 + c] != b.rgb()[(sy * b.width() + sx) * 3 + c]) {
                                throw new AssertionError("rotate" + deg + " frame " + i + " pixel (" + x + "," + y + ")");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void oddSizesKeepEveryPixel() throws Exception {
        for (String name : List.of("odd-h264.mp4", "odd-vp9.webm")) {
            Frame f = new VideoDecoder().decodeSampled(dir().resolve(name), 2).frames().get(1);
            assertThat(f.width()).as(name).isEqualTo(97);
            assertThat(f.height()).as(name).isEqualTo(61);
        }
    }

    /**
     * Full-range clips hold the same pattern as the 8-bit limited-range clip: decoded with the range they
     * declare (VP9 signals it without a "J" pixel format), their colours agree with it up to compression
     * error, measured on 8x8 block means (compression noise averages out there), and are clearly closer to
     * it than to it with its levels stretched the way reading full range as limited range stretches them.
     * The 10-bit clips agree within 4 levels (their 10-bit encode itself differs by ~3 from the 8-bit one;
     * a wrong depth would be far off).
     */
    @Test
    void fullRangeAndTenBitColoursMatchTheLimitedRangeClip() throws Exception {
        List<Frame> limited = all(dir().resolve("limited-h264.mp4"));
        List<Frame> stretched = limited.stream().map(PlannedDecodeClipsTest::stretch).toList();
        double wrong = blockMeanDiff(limited, stretched);
        System.out.printf("limited-h264.mp4 vs its levels stretched as by a range error: %.2f levels%n", wrong);
        assertThat(wrong).as("a range error is visible in block means").isGreaterThan(3.0);
        for (String name : List.of("fullrange-h264.mp4", "fullrange-vp9.webm", "10bit-h264.mp4", "10bit-hevc.mp4",
                "10bit-vp9.webm")) {
            List<Frame> other = all(dir().resolve(name));
            assertThat(other).as(name).hasSameSizeAs(limited);
            double d = blockMeanDiff(limited, other);
            double dWrong = blockMeanDiff(stretched, other);
            System.out.printf("%s: 8x8 block means differ by %.2f levels from limited-h264.mp4, by %.2f from it"
                    + " stretched%n", name, d, dWrong);
            if (name.startsWith("fullrange")) {
                assertThat(d).as(name + ": block means vs the limited-range clip").isLessThan(2.0);
                assertThat(d).as(name + ": closer to the limited clip than to it stretched").isLessThan(dWrong / 2);
            } else {
                assertThat(d).as(name + ": block means vs the 8-bit clip").isLessThan(4.0);
            }
        }
    }

    /** Levels 16..235 spread to 0..255: what reading full-range video as limited range does to it. */
    private static Frame stretch(Frame f) {
        byte[] out = new byte[f.rgb().length];
        for (int i = 0; i < out.length; i++) {
            int v = (int) Math.round(((f.rgb()[i] & 255) - 16) * 255.0 / 219.0);
            out[i] = (byte) Math.max(0, Math.min(255, v));
        }
        return new Frame(f.width(), f.height(), out);
    }

    /** Mean absolute difference of 8x8-block channel means over all frames. */
    private static double blockMeanDiff(List<Frame> a, List<Frame> b) {
        double sum = 0;
        long blocks = 0;
        for (int i = 0; i < a.size(); i++) {
            Frame fa = a.get(i);
            Frame fb = b.get(i);
            for (int by = 0; by + 8 <= fa.height(); by += 8) {
                for (int bx = 0; bx + 8 <= fa.width(); bx += 8) {
                    for (int c = 0; c < 3; c++) {
                        double ma = 0;
                        double mb = 0;
                        for (int y = by; y < by + 8; y++) {
                            for (int x = bx; x < bx + 8; x++) {
                                ma += fa.rgb()[(y * fa.width() + x) * 3 + c] & 255;
                                mb += fb.rgb()[(y * fb.width() + x) * 3 + c] & 255;
                            }
                        }
                        sum += Math.abs(ma - mb) / 64;
                        blocks++;
                    }
                }
            }
        }
        return sum / blocks;
    }
}
