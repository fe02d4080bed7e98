package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.model.FrameTransform;
import dev.merv.core.text.EncodedText;
import dev.merv.core.testing.standin.NearestTransform;
import dev.merv.core.testing.standin.PureTextPipeline;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Entry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleBuilderTest {

    @TempDir
    static Path dir;
    static SynthDataset.Manifest manifest;

    @BeforeAll
    static void generate() throws Exception {
        manifest = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 2, 21));
    }

    static List<EncoderInput> encoders(NearestTransform a, NearestTransform b) {
        return List.of(new EncoderInput("lb", 4, a), new EncoderInput("hiera", 8, b));
    }

    @Test
    void rowsGetTheirTextPathAndOnlyMediaRowsRunTransforms() throws Exception {
        PureTextPipeline text = new PureTextPipeline();
        NearestTransform a = new NearestTransform(4, FrameTransform.Layout.CTHW);
        NearestTransform b = new NearestTransform(4, FrameTransform.Layout.TCHW);
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE))) {
            SampleBuilder builder = new SampleBuilder(ds, new SampleText(text, Stage.FINETUNE, 2048), encoders(a, b),
                    new VideoDecoder(), SampleBuilder.Options.training(1));
            assertThat(builder.maxFrames()).isEqualTo(8);
            int media = 0;
            for (int i = 0; i < ds.size(); i++) {
                Entry e = ds.entry(i);
                Sample s = builder.build(i, 0);
                EncodedText want = text.encodeConversation(e.turns(), e.hasMedia(), 2048);
                assertThat(s.text().ids()).containsExactly(want.ids());
                assertThat(s.text().labels()).containsExactly(want.labels());
                assertThat(s.hasMedia()).isEqualTo(e.hasMedia());
                assertThat(s.isImage()).isEqualTo(e.kind() == Entry.Kind.IMAGE);
                if (e.hasMedia()) {
                    media++;
                    assertThat(s.text().labels()[0]).isEqualTo(-100);
                    assertThat(s.pixels()[0]).hasSize(4 * 3 * 4 * 4);
                    assertThat(s.pixels()[1]).hasSize(8 * 3 * 4 * 4);
                }
            }
            // W7: text-only rows never reach an encoder transform
            assertThat(a.calls.get()).isEqualTo(media);
            assertThat(b.calls.get()).isEqualTo(media);
        }
    }

    @Test
    void alignRowsEncodeTheCaptionOnly() throws Exception {
        PureTextPipeline text = new PureTextPipeline();
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.ALIGN))) {
            SampleText st = new SampleText(text, Stage.ALIGN, 2048);
            for (int i = 0; i < ds.size(); i++) {
                Entry e = ds.entry(i);
                EncodedText t = st.encode(e);
                assertThat(t.ids()).containsExactly(text.encodeCaption(e.turns(), 2048).ids());
                assertThat(t.labels()[0]).isEqualTo(-100);
            }
        }
    }

    @Test
    void visualBudgetShortensMediaRowsOnly() throws Exception {
        PureTextPipeline text = new PureTextPipeline();
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE))) {
            SampleText parity = new SampleText(text, Stage.FINETUNE, 12);
            SampleText budget = new SampleText(text, Stage.FINETUNE, 12, 6);
            for (int i = 0; i < ds.size(); i++) {
                Entry e = ds.entry(i);
                assertThat(parity.encode(e).length()).isLessThanOrEqualTo(12);
                assertThat(budget.encode(e).length()).isLessThanOrEqualTo(e.hasMedia() ? 6 : 12);
            }
            assertThat(parity.truncatedRows()).isPositive();
        }
    }

    @Test
    void imageFastPathEqualsTransformingEveryFrame() throws Exception {
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE))) {
            SampleText st = new SampleText(new PureTextPipeline(), Stage.FINETUNE, 2048);
            NearestTransform a1 = new NearestTransform(4, FrameTransform.Layout.CTHW);
            NearestTransform b1 = new NearestTransform(4, FrameTransform.Layout.TCHW);
            NearestTransform a2 = new NearestTransform(4, FrameTransform.Layout.CTHW);
            NearestTransform b2 = new NearestTransform(4, FrameTransform.Layout.TCHW);
            SampleBuilder fast = new SampleBuilder(ds, st, encoders(a1, b1), new VideoDecoder(),
                    new SampleBuilder.Options(5, true, true));
            SampleBuilder slow = new SampleBuilder(ds, st, encoders(a2, b2), new VideoDecoder(),
                    new SampleBuilder.Options(5, true, false));
            int images = 0;
            for (int i = 0; i < ds.size(); i++) {
                if (ds.kind(i) == Entry.Kind.IMAGE) {
                    images++;
                    Sample f = fast.build(i, 3);
                    Sample s = slow.build(i, 3);
                    assertThat(f.pixels()[0]).containsExactly(s.pixels()[0]);
                    assertThat(f.pixels()[1]).containsExactly(s.pixels()[1]);
                }
            }
            assertThat(images).isPositive();
        }
    }
}
