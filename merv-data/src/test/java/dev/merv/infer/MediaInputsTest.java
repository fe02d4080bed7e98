package dev.merv.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Frame;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.check.SampleException;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.ClipWindow;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.encoders.EncoderRegistry;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The media the reference's inference reads, for merv-tiny's encoders: clip windows of a video decode exactly the
 * frames the window samples (the same pixels as decoding every frame), folders of frames at VLEP's 3 fps (or uniformly
 * for ShareGPT's), paths containing {@code .jpg} as images, and zero inputs for a question without media.
 */
class MediaInputsTest {

    private static List<EncoderInput> tinyEncoders() {
        ModelConfig tiny = ModelRegistry.get(ModelRegistry.MERV_TINY);
        List<EncoderInput> out = new ArrayList<>();
        for (int i = 0; i < tiny.numEncoders(); i++) {
            String id = tiny.videoBackboneIds().get(i);
            out.add(EncoderInput.of(EncoderRegistry.create(id, EncoderRegistry.Options.defaults()
                    .withFrames(tiny.numFrames().get(i)))));
        }
        return out;
    }

    @Test
    void aWindowDecodesTheFramesItSamples(@TempDir Path tmp) throws Exception {
        List<EncoderInput> enc = tinyEncoders();
        int k = enc.stream().mapToInt(EncoderInput::numFrames).max().orElseThrow();
        Path video = tmp.resolve("v.mp4");
        SynthDataset.writeVideo(video, 96, 64, 60, 20, new SynthDataset.Clip("red", SynthDataset.DIRECTIONS[0],
                SynthDataset.SHAPES[0]), 3, false);
        VideoDecoder decoder = new VideoDecoder();
        ClipWindow w = ClipWindow.seconds(1.0, 2.5);
        MediaInputs.Clip clip = MediaInputs.read(enc, video, w, decoder, MediaInputs.Options.defaults());
        int[] idx = FrameSampling.indices(60, 20.0, k, w);
        List<Frame> all = new ArrayList<>();
        decoder.decodeAll(video, all::add);
        for (int e = 0; e < enc.size(); e++) {
            int[] pos = FrameSampling.encoderPositions(k, enc.get(e).numFrames());
            List<Frame> frames = new ArrayList<>();
            int[] want = new int[pos.length];
            for (int i = 0; i < pos.length; i++) {
                want[i] = idx[pos[i]];
                frames.add(all.get(want[i]));
            }
            assertThat(clip.frameIndices()[e]).containsExactly(want);
            // large arrays: compared whole (AssertJ's element diff is quadratic)
            assertThat(java.util.Arrays.equals(clip.pixels()[e], enc.get(e).transform().apply(frames, null)))
                    .as("encoder %d pixels equal the transform of the decoded frames", e).isTrue();
        }
        // the whole video is what training decodes
        MediaInputs.Clip whole = MediaInputs.read(enc, video, ClipWindow.WHOLE, decoder, MediaInputs.Options.defaults());
        SampledVideo sampled = decoder.decodeSampled(video, k);
        int[] pos0 = FrameSampling.encoderPositions(k, enc.get(0).numFrames());
        assertThat(whole.frameIndices()[0][pos0.length - 1]).isEqualTo(sampled.indices()[pos0[pos0.length - 1]]);
        // a window past the end is named
        assertThatThrownBy(() -> MediaInputs.read(enc, video, ClipWindow.seconds(4.0, 5.0), decoder,
                MediaInputs.Options.defaults())).isInstanceOf(SampleException.class).hasMessageContaining("v.mp4")
                .hasMessageContaining("frame 80 of a 60-frame video");
    }

    @Test
    void foldersOfFramesImagesAndNoMedia(@TempDir Path tmp) throws Exception {
        List<EncoderInput> enc = tinyEncoders();
        int k = enc.stream().mapToInt(EncoderInput::numFrames).max().orElseThrow();
        Path vlep = Files.createDirectories(tmp.resolve("vlep_frames/clip1"));
        Path share = Files.createDirectories(tmp.resolve("sharegpt/clip2"));
        for (int i = 0; i < 40; i++) {
            BufferedImage img = new BufferedImage(32, 24, BufferedImage.TYPE_INT_RGB);
            img.setRGB(0, 0, i * 6 << 16);
            ImageIO.write(img, "png", vlep.resolve(String.format("%05d.png", i)).toFile());
            ImageIO.write(img, "png", share.resolve(String.format("%05d.png", i)).toFile());
        }
        MediaInputs.Clip v = MediaInputs.read(enc, vlep, ClipWindow.seconds(2.0, 9.0), new VideoDecoder(),
                MediaInputs.Options.defaults());
        int[] idx = FrameSampling.indices(40, 3.0, k, ClipWindow.seconds(2.0, 9.0));
        int[] pos = FrameSampling.encoderPositions(k, enc.get(2).numFrames());
        for (int i = 0; i < pos.length; i++) {
            assertThat(v.frameIndices()[2][i]).isEqualTo(idx[pos[i]]);
        }
        assertThat(v.frameIndices()[2][0]).isEqualTo(6);
        MediaInputs.Clip s = MediaInputs.read(enc, share, ClipWindow.seconds(2.0, 9.0), new VideoDecoder(),
                MediaInputs.Options.defaults());
        assertThat(s.frameIndices()[2][0]).isZero();
        assertThat(s.frameIndices()[2][pos.length - 1]).isEqualTo(FrameSampling.videoIndices(40, 0, k)[pos[pos.length - 1]]);

        Path jpgVideo = tmp.resolve("still.jpg.png");
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB), "png", jpgVideo.toFile());
        assertThat(MediaInputs.isImage(jpgVideo)).as("the reference's '.jpg' in path").isTrue();
        assertThat(MediaInputs.isImage(vlep)).isFalse();
        MediaInputs.Clip img = MediaInputs.read(enc, jpgVideo, ClipWindow.WHOLE, new VideoDecoder(),
                MediaInputs.Options.defaults());
        assertThat(img.image()).isTrue();
        assertThat(img.frameIndices()[0]).isEmpty();

        MediaInputs.Clip zero = MediaInputs.zeros(enc);
        for (int e = 0; e < enc.size(); e++) {
            assertThat(zero.pixels()[e]).hasSize(enc.get(e).clipValues()).containsOnly(0f);
        }
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> MediaInputs.read(enc, empty, ClipWindow.WHOLE, new VideoDecoder(),
                MediaInputs.Options.defaults())).hasMessageContaining("empty").hasMessageContaining("no .jpg/.jpeg/.png");
    }
}
