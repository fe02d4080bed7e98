package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.testing.standin.PureTextPipeline;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code video-frames} fixture end to end through the loader's sample path: the fixture's
 * {@code video.mp4} is the media of a finetune row, {@link SampleBuilder} decodes {@code max(num_frames)}
 * frames with merv-data's FFmpeg decoder, gives each encoder every k-th one and runs the REAL family
 * transform of merv-encoders at the fixture's {@code default_image_size}; each encoder's clip must equal
 * {@code output.<encoder>.pixel_values} within the fixture's tolerance ({@code atol_pixel_values} for the
 * PIL paths, 1e-5 for LanguageBind's float path, per the fixture notes).
 */
class VideoFramesPipelineFixtureTest {

    private static final String FIXTURE = "video-frames";
    /** The fixture notes' tolerance for the LanguageBind (torch float, non-PIL) path. */
    private static final double LANGUAGEBIND_ATOL = 1e-5;

    @TempDir
    Path dir;

    static Stream<String> encoders() {
        try (Fixture f = Fixture.open(FIXTURE)) {
            List<String> out = new ArrayList<>();
            f.config().getAsJsonArray("encoder_order").forEach(e -> out.add(e.getAsString()));
            assertThat(out).as(FIXTURE + " encoder_order").isNotEmpty();
            return out.stream();
        }
    }

    /** The family's transform as merv-encoders builds it from the catalog, at the fixture's size, without LanguageBind's random flip. */
    static FrameTransform familyTransform(String encoder, int size) {
        String id = switch (encoder) {
            case "languagebind" -> Catalog.LANGUAGEBIND;
            case "dinov2" -> Catalog.DINOV2;
            case "hiera" -> Catalog.HIERA;
            case "siglip" -> Catalog.SIGLIP;
            default -> throw new AssertionError(FIXTURE + ": no transform for encoder '" + encoder + "'");
        };
        return EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(size)
                .withFlip(LanguageBindTransform.Flip.NEVER));
    }

    static FrameTransform.Layout layout(String metaLayout) {
        String l = metaLayout.replace(" ", "");
        if (l.equals("[3,T,S,S]")) {
            return FrameTransform.Layout.CTHW;
        }
        if (l.equals("[T,3,S,S]")) {
            return FrameTransform.Layout.TCHW;
        }
        throw new AssertionError(FIXTURE + " meta: unknown layout '" + metaLayout + "'");
    }

    @ParameterizedTest(name = "[video-frames/{0}]")
    @MethodSource("encoders")
    void decodeSampleTransformMatchesReference(String encoder) throws Exception {
        try (Fixture fx = Fixture.open(FIXTURE); NDManager m = Fixture.newManager()) {
            JsonObject cfg = fx.config();
            JsonObject per = fx.meta().getAsJsonObject("per_encoder").getAsJsonObject(encoder);
            int size = cfg.get("default_image_size").getAsInt();
            List<String> order = new ArrayList<>();
            cfg.getAsJsonArray("encoder_order").forEach(e -> order.add(e.getAsString()));
            JsonArray nfs = cfg.getAsJsonArray("num_frames");
            assertThat(per.get("num_frames").getAsInt()).as("meta per_encoder.num_frames").isEqualTo(nfs.get(order.indexOf(encoder)).getAsInt());

            // all encoders of the fixture, in its order, so K = max(num_frames) is the reference's
            List<EncoderInput> inputs = new ArrayList<>();
            for (int e = 0; e < order.size(); e++) {
                inputs.add(new EncoderInput(order.get(e), nfs.get(e).getAsInt(), familyTransform(order.get(e), size)));
            }
            int e = order.indexOf(encoder);
            EncoderInput in = inputs.get(e);
            assertThat(in.transform().layout()).as(encoder + " layout (meta per_encoder)").isEqualTo(layout(per.get("layout").getAsString()));

            // the row: the fixture video under a Video-LLaVA media root
            Path root = dir.resolve("videollava");
            String rel = DatasetRegistry.VIDEOCHATGPT_TUNE + "/" + cfg.get("video_file").getAsString();
            Files.createDirectories(root.resolve(rel).getParent());
            Files.copy(fx.file(cfg.get("video_file").getAsString()), root.resolve(rel));
            Files.writeString(root.resolve(DatasetRegistry.FINETUNE_JSON), "[{\"id\": \"fixture\", \"video\": \"" + rel
                    + "\", \"conversations\": [{\"from\": \"human\", \"value\": \"<video>\\nWhat happens?\"},"
                    + " {\"from\": \"gpt\", \"value\": \"Things move.\"}]}]", StandardCharsets.UTF_8);

            VideoDecoder decoder = new VideoDecoder(VideoDecoder.Options.defaults());
            float[] got;
            try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(root, Stage.FINETUNE))) {
                SampleBuilder builder = new SampleBuilder(ds, new SampleText(new PureTextPipeline(), Stage.FINETUNE, 2048),
                        inputs, decoder, new SampleBuilder.Options(7, false, true));
                Sample s = builder.build(0, 0);
                assertThat(s.hasMedia()).isTrue();
                assertThat(s.pixels().length).as("clips per encoder").isEqualTo(order.size());
                got = s.pixels()[e];

                // which frames the sample path used: the decoder's sampled indices at the encoder's positions
                SampledVideo v = decoder.decodeSampled(ds.resolveMedia(ds.entry(0)), builder.maxFrames());
                int[] pos = FrameSampling.encoderPositions(builder.maxFrames(), in.numFrames());
                long[] idx = new long[pos.length];
                for (int i = 0; i < pos.length; i++) {
                    idx[i] = v.indices()[pos[i]];
                }
                assertThat(idx).as(encoder + " frame indices").containsExactly(fx.io("output." + encoder + ".frame_indices", m).toLongArray());
            }

            String tensor = "output." + encoder + ".pixel_values";
            long[] shape = fx.io().info(tensor).shape();
            assertThat(in.clipShape()).as(tensor + " shape").containsExactly(shape);
            float[] want = fx.ioFloat(tensor, m).toFloatArray();
            boolean pil = per.get("transform").getAsString().contains("to_pil_image");
            double atol = pil ? fx.meta().get("atol_pixel_values").getAsDouble() : LANGUAGEBIND_ATOL;
            System.out.printf("%s/%s: decode+sample+transform max |diff| %.3g (atol %.2g)%n", FIXTURE, encoder,
                    Compare.compare(got, want, shape, atol, 0).maxAbsDiff(), atol);
            Compare.assertClose(FIXTURE + ":" + tensor + " (decoded by merv-data)", got, want, shape, atol, 0);
        }
    }
}
