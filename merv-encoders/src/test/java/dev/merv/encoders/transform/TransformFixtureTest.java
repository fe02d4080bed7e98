package dev.merv.encoders.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each encoder's frame transform against the {@code video-frames} fixture: the fixture's decoded
 * uint8 frames ({@code output.sampled_frames_uint8}) go through the transform at the fixture's
 * {@code default_image_size}, compared with {@code output.<encoder>.pixel_values} within
 * {@code atol_pixel_values} (PIL paths) or 1e-5 (LanguageBind's float path, per the fixture notes).
 */
class TransformFixtureTest {

    private static final String FIXTURE = "video-frames";
    /** The fixture notes' tolerance for LanguageBind's torch (non-PIL) path. */
    private static final double LANGUAGEBIND_ATOL = 1e-5;

    @ParameterizedTest(name = "[video-frames/{0}]")
    @ValueSource(strings = {"languagebind", "dinov2", "hiera", "siglip"})
    void matchesReference(String encoder) {
        try (Fixture fx = Fixture.open(FIXTURE); NDManager m = Fixture.newManager()) {
            JsonObject cfg = fx.config();
            int size = cfg.get("default_image_size").getAsInt();
            List<String> order = new ArrayList<>();
            cfg.getAsJsonArray("encoder_order").forEach(e -> order.add(e.getAsString()));
            JsonArray nfs = cfg.getAsJsonArray("num_frames");
            int maxFrames = 0;
            for (int i = 0; i < nfs.size(); i++) {
                maxFrames = Math.max(maxFrames, nfs.get(i).getAsInt());
            }
            int nf = nfs.get(order.indexOf(encoder)).getAsInt();
            int stride = maxFrames / nf;

            long[] sampledIdx = fx.io("output.sampled_frame_indices", m).toLongArray();
            long[] encIdx = fx.io("output." + encoder + ".frame_indices", m).toLongArray();
            List<Frame> all = frames(fx.io("output.sampled_frames_uint8", m));
            List<Frame> clip = new ArrayList<>();
            long[] picked = new long[nf];
            for (int i = 0; i < nf; i++) {
                clip.add(all.get(i * stride));
                picked[i] = sampledIdx[i * stride];
            }
            assertArrayEquals(encIdx, picked, encoder + ": frame selection video[::" + stride + "]");

            // the catalog's transform values (interpolation, mean, std) against the reference's pixels
            String id = switch (encoder) {
                case "languagebind" -> Catalog.LANGUAGEBIND;
                case "dinov2" -> Catalog.DINOV2;
                case "hiera" -> Catalog.HIERA;
                case "siglip" -> Catalog.SIGLIP;
                default -> throw new AssertionError(encoder);
            };
            FrameTransform t = EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(size)
                    .withFlip(LanguageBindTransform.Flip.NEVER));
            NDArray expected = fx.ioFloat("output." + encoder + ".pixel_values", m);
            long[] shape = expected.getShape().getShape();
            float[] got = t.apply(clip, null);
            assertEquals(expected.size(), got.length, encoder + ": output size");
            boolean lb = encoder.equals("languagebind");
            assertEquals(lb ? FrameTransform.Layout.CTHW : FrameTransform.Layout.TCHW, t.layout());
            double atol = lb ? LANGUAGEBIND_ATOL : fx.meta().get("atol_pixel_values").getAsDouble();
            float[] want = expected.toFloatArray();
            System.out.printf("%s: max |diff| %.3g (atol %.2g)%n", encoder, Compare.compare(got, want, shape, atol, 0).maxAbsDiff(), atol);
            Compare.assertClose(FIXTURE + ":" + encoder + ".pixel_values", got, want, shape, atol, 0);
        }
    }

    /**
     * W1: no flip in evaluation by default; training flips whole clips with p = 0.5 from the sample's stream. Which
     * clips flip is known by replaying each seeded stream's one draw, not guessed from the pixels (a clip with equal
     * edges, black bars say, would look the same either way).
     */
    @Test
    void languageBindFlipOnlyInTraining() {
        try (Fixture fx = Fixture.open(FIXTURE); NDManager m = Fixture.newManager()) {
            int size = fx.config().get("default_image_size").getAsInt();
            List<Frame> clip = frames(fx.io("output.sampled_frames_uint8", m)).subList(0, 2);
            EncoderRegistry.Options o = EncoderRegistry.Options.defaults().withImageSize(size);
            FrameTransform t = EncoderRegistry.transform(Catalog.LANGUAGEBIND, o);
            assertEquals(LanguageBindTransform.Flip.TRAINING, ((LanguageBindTransform) t).flip(), "default flip policy");
            float[] eval = t.apply(clip, null);
            assertArrayEquals(EncoderRegistry.transform(Catalog.LANGUAGEBIND, o.withFlip(LanguageBindTransform.Flip.NEVER))
                    .apply(clip, null), eval);
            float[] mirrored = new float[eval.length];
            for (int row = 0; row < eval.length / size; row++) {
                for (int col = 0; col < size; col++) {
                    mirrored[row * size + col] = eval[row * size + size - 1 - col];
                }
            }
            // one stream over the 40 clips, replayed: each clip takes one draw from it
            Random stream = new Random(7);
            Random replay = new Random(7);
            int flipped = 0;
            for (int i = 0; i < 40; i++) {
                boolean drawn = replay.nextDouble() < 0.5;
                float[] tr = t.apply(clip, stream);
                assertArrayEquals(drawn ? mirrored : eval, tr, "clip " + i + (drawn ? " flipped" : " not flipped"));
                flipped += drawn ? 1 : 0;
            }
            assertEquals(true, flipped > 5 && flipped < 35, "flip rate ~0.5, got " + flipped + "/40");
            // PARITY flips in evaluation too (a fresh stream each time): over 40 clips both outcomes appear
            FrameTransform parity = EncoderRegistry.transform(Catalog.LANGUAGEBIND, o.withFlip(LanguageBindTransform.Flip.PARITY));
            boolean sawFlip = false;
            boolean sawPlain = false;
            for (int i = 0; i < 40; i++) {
                float[] ev = parity.apply(clip, null);
                sawFlip |= java.util.Arrays.equals(ev, mirrored);
                sawPlain |= java.util.Arrays.equals(ev, eval);
            }
            assertEquals(true, sawFlip && sawPlain, "parity flips at evaluation with p = 0.5");
        }
    }

    /** {@code [T, 3, H, W]} uint8 to frames. */
    static List<Frame> frames(NDArray uint8) {
        long[] s = uint8.getShape().getShape();
        int t = (int) s[0];
        int h = (int) s[2];
        int w = (int) s[3];
        byte[] data = uint8.toByteArray();
        List<Frame> out = new ArrayList<>();
        for (int f = 0; f < t; f++) {
            byte[] rgb = new byte[h * w * 3];
            for (int c = 0; c < 3; c++) {
                int base = (f * 3 + c) * h * w;
                for (int i = 0; i < h * w; i++) {
                    rgb[i * 3 + c] = data[base + i];
                }
            }
            out.add(new Frame(w, h, rgb));
        }
        return out;
    }
}
