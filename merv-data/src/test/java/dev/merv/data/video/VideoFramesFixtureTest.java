package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.model.Frame;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code video-frames} fixture through the FFmpeg decoder: the 32 sampled frame indices and
 * every encoder's subsampled indices exactly, the file's frame count exactly, and the decoded RGB
 * frames within the fixture's uint8 tolerance (decoders differ in YUV→RGB rounding).
 */
class VideoFramesFixtureTest {

    /**
     * The fixture's documented uint8 tolerance (README, meta notes: "+-3 grey levels across
     * decoders"); meta.json's {@code tolerances} entry for the tensor wins when present.
     */
    private static final double DOCUMENTED_UINT8_ATOL = 3;

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = "video-frames")
    void sampledFramesMatchTheReference(String name) throws Exception {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager()) {
            JsonObject cfg = f.config();
            JsonArray nf = cfg.getAsJsonArray("num_frames");
            int k = 0;
            for (JsonElement e : nf) {
                k = Math.max(k, e.getAsInt());
            }
            Path video = f.file(cfg.get("video_file").getAsString());
            for (boolean planned : new boolean[] {false, true}) {
                VideoDecoder.Options o = planned ? VideoDecoder.Options.defaults() : VideoDecoder.Options.defaults().sequential();
                SampledVideo v = new VideoDecoder(o).decodeSampled(video, k);
                check(f, m, name + (planned ? " (planned)" : " (sequential)"), cfg, nf, k, v);
            }
        }
    }

    private static void check(Fixture f, NDManager m, String name, JsonObject cfg, JsonArray nf, int k, SampledVideo v) {
        {

            long[] expectedIdx = f.io("output.sampled_frame_indices", m).toLongArray();
            assertThat(toLong(v.indices())).as(name + ": sampled frame indices").containsExactly(expectedIdx);
            long expectedN = f.io("output.num_decoded_frames", m).toLongArray()[0];
            assertThat((long) v.numFrames()).as(name + ": num_decoded_frames").isEqualTo(expectedN);
            assertThat(v.numFrames()).as(name + ": config frames_in_file").isEqualTo(cfg.get("frames_in_file").getAsInt());

            JsonArray order = cfg.getAsJsonArray("encoder_order");
            for (int e = 0; e < order.size(); e++) {
                String enc = order.get(e).getAsString();
                int[] pos = FrameSampling.encoderPositions(k, nf.get(e).getAsInt());
                long[] idx = new long[pos.length];
                for (int i = 0; i < pos.length; i++) {
                    idx[i] = v.indices()[pos[i]];
                }
                assertThat(idx).as(name + ": " + enc + " frame indices")
                        .containsExactly(f.io("output." + enc + ".frame_indices", m).toLongArray());
            }

            String tensor = "output.sampled_frames_uint8";
            long[] shape = f.io().info(tensor).shape();
            float[] expected = Torch.toFloatArray(f.ioFloat(tensor, m));
            int t = (int) shape[0];
            int h = (int) shape[2];
            int w = (int) shape[3];
            assertThat(v.frames()).hasSize(t);
            double atol = f.meta().has("tolerances") && f.meta().getAsJsonObject("tolerances").has(tensor)
                    ? f.tolerance(tensor).atol() : DOCUMENTED_UINT8_ATOL;
            double worst = 0;
            String where = "";
            long sumAbs = 0;
            for (int i = 0; i < t; i++) {
                Frame fr = v.frames().get(i);
                assertThat(fr.width()).isEqualTo(w);
                assertThat(fr.height()).isEqualTo(h);
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            double a = fr.rgb()[(y * w + x) * 3 + c] & 255;
                            double ex = expected[((i * 3 + c) * h + y) * w + x];
                            double d = Math.abs(a - ex);
                            sumAbs += (long) d;
                            if (d > worst) {
                                worst = d;
                                where = "[" + i + "," + c + "," + y + "," + x + "] actual " + a + " expected " + ex;
                            }
                        }
                    }
                }
            }
            System.out.printf("%s: decoded frames max |diff| %.0f grey levels (mean %.4f) at %s%n", name, worst,
                    sumAbs / (double) expected.length, where);
            assertThat(worst).as(name + ": worst decoded pixel " + where).isLessThanOrEqualTo(atol);
        }
    }

    private static long[] toLong(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
