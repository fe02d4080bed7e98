package dev.merv.data.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.model.FrameTransform;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.standin.NearestTransform;
import dev.merv.data.standin.PureTextPipeline;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Entry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the data bench reports (counts and the report line's shape; timings are not checked). */
class DataBenchTest {

    @TempDir
    Path dir;

    @Test
    void decodeReportsTheLoadersDecode() throws Exception {
        Path clip = Path.of(DataBenchTest.class.getClassLoader().getResource("video-clips/h264-bpyramid.mp4").toURI());
        DataBench.DecodeReport r = DataBench.decode(clip, 8, 3, VideoDecoder.Options.defaults());
        SampledVideo v = new VideoDecoder().decodeSampled(clip, 8);
        assertThat(r.sampled()).isEqualTo(8);
        assertThat(r.numFrames()).isEqualTo(v.numFrames());
        assertThat(r.decodedFrames()).isEqualTo(v.decodedFrames()).isLessThan(v.numFrames());
        assertThat(r.runMillis()).hasSize(3);
        assertThat(r.line()).matches("decode: 8 frames of " + v.numFrames() + " \\(" + v.decodedFrames()
                + " decoded\\) in \\d+\\.\\d ms median of 3 runs");
        assertThatThrownBy(() -> DataBench.decode(clip, 8, 0, VideoDecoder.Options.defaults()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(DataBench.median(new double[] {5, 1, 3})).isEqualTo(3);
        assertThat(DataBench.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
    }

    @Test
    void loaderCountsWhatItBuilt() throws Exception {
        SynthDataset.Manifest m = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 4, 3));
        List<EncoderInput> encoders = List.of(new EncoderInput("languagebind", 8, new NearestTransform(8,
                FrameTransform.Layout.CTHW)), new EncoderInput("dinov2", 4, new NearestTransform(8, FrameTransform.Layout.TCHW)));
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(m.root(), Stage.FINETUNE))) {
            int samples = ds.size() + 3;
            DataBench.LoaderReport r = DataBench.loader(ds, new PureTextPipeline(), encoders,
                    new DataBench.LoaderSettings(samples, 2, 2, 7, true, VideoDecoder.Options.defaults()));
            // whole micro-batches: at least the rows asked for, at most one batch more, wrapping into the next epoch
            assertThat(r.samples()).isBetween(samples, samples + 1);
            int videoRows = 0;
            for (int i = 0; i < ds.size(); i++) {
                videoRows += ds.kind(i) == Entry.Kind.VIDEO ? 1 : 0;
            }
            assertThat(r.videos()).isPositive().isLessThanOrEqualTo(r.samples());
            assertThat(videoRows).isPositive();
            assertThat(r.videos() + r.images()).isLessThanOrEqualTo(r.samples());
            assertThat(r.skipped()).isZero();
            assertThat(r.clipsPerSecondPerCore()).isEqualTo(r.clipsPerSecond() / 2);
            assertThat(r.line()).startsWith("loader: " + r.samples() + " samples (").contains("with 2 threads").contains(
                    "clips/s per core");
        }
    }
}
