package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.MervBatch;
import dev.merv.data.check.DatasetChecker;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.check.SkipReason;
import dev.merv.data.standin.NearestTransform;
import dev.merv.data.standin.PureTextPipeline;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoaderFactoryTest {

    @TempDir
    Path dir;

    @Test
    void rowsACheckRejectedAreNeverLoaded() throws Exception {
        SynthDataset.Manifest m = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 4, 8).withFaults(true));
        Path report = dir.resolve("check.json");
        assertThat(DatasetChecker.run(new String[] {"--root", m.root().toString(), "--stage", "finetune", "--json",
            report.toString(), "--threads", "2"})).isZero();
        Set<Integer> excluded = DatasetChecker.skippedIndices(report);
        List<EncoderInput> enc = List.of(new EncoderInput("a", 4, new NearestTransform(4, FrameTransform.Layout.TCHW)));
        for (LoaderFactory.Lengths lengths : LoaderFactory.Lengths.values()) {
            LoaderFactory.Config c = new LoaderFactory.Config(7, 4, 2, 1, 2, 2, 2, 2048, lengths, 64, 0,
                    Collator.MaskMode.LENGTHS, true, VideoDecoder.Options.defaults(), excluded);
            SkipLog log = new SkipLog();
            Set<Integer> seen = new HashSet<>();
            try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(m.root(), Stage.FINETUNE));
                    NDManager nd = NDManager.newBaseManager();
                    MervLoader loader = LoaderFactory.create(ds, new PureTextPipeline(), enc, c, nd, log)) {
                while (loader.hasNext()) {
                    MervBatch b = loader.next();
                    b.close();
                    for (int r : loader.lastRows()) {
                        seen.add(r);
                    }
                }
            }
            // only the malformed rows are reported again (found while indexing); nothing is decoded and skipped
            assertThat(log.skips()).allMatch(s -> s.reason() == SkipReason.MALFORMED_ENTRY);
            assertThat(log.skips().stream().map(Skip::index).toList()).allMatch(excluded::contains);
            assertThat(seen).doesNotContainAnyElementsOf(excluded).isNotEmpty();
        }
    }
}
