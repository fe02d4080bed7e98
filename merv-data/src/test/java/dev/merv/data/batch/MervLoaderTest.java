package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.MervBatch;
import dev.merv.data.check.SkipLog;
import dev.merv.data.check.SkipReason;
import dev.merv.data.standin.NearestTransform;
import dev.merv.data.standin.PureTextPipeline;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.text.LengthMeasure;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.DecodeClock;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader over a generated finetune dataset with every kind of injected fault: bad rows are
 * skipped and reported exactly, no good row is lost or replaced, batches are deterministic, and a
 * restored loader continues with the next unseen batch without building earlier samples.
 */
class MervLoaderTest {

    @TempDir
    static Path dir;
    static SynthDataset.Manifest manifest;
    static NDManager manager;

    static final int SIZE = 8;
    static final VideoDecoder.Options TICKS = VideoDecoder.Options.defaults()
            .withTimeout(300_000_000L, DecodeClock.ticking(1_000_000L));

    @BeforeAll
    static void generate() throws Exception {
        manifest = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 8, 5).withFaults(true));
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** A loader over the finetune JSON with fresh counting transforms. */
    static final class Rig implements AutoCloseable {
        final VideoLlavaDataset ds;
        final SkipLog log = new SkipLog();
        final NearestTransform lb = new NearestTransform(SIZE, FrameTransform.Layout.CTHW);
        final NearestTransform dino = new NearestTransform(SIZE, FrameTransform.Layout.TCHW);
        final NearestTransform hiera = new NearestTransform(SIZE, FrameTransform.Layout.TCHW);
        final List<EncoderInput> encoders = List.of(new EncoderInput("languagebind", 16, lb),
                new EncoderInput("dinov2", 16, dino), new EncoderInput("hiera", 32, hiera));
        final SplitModalitySampler sampler;
        final MervLoader loader;
        final PureTextPipeline text = new PureTextPipeline();

        Rig(long seed) throws Exception {
            ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE));
            SampleText st = new SampleText(text, Stage.FINETUNE, 2048);
            int[] rows = ds.wellFormedRows(log);
            int[] lengths = LengthMeasure.tokens(st).lengths(ds);
            sampler = new SplitModalitySampler(rows, ds.multimodalFlags(), lengths, 4, 1, 0, seed, 0);
            SampleBuilder b = new SampleBuilder(ds, st, encoders, new VideoDecoder(TICKS), SampleBuilder.Options.training(seed));
            loader = new MervLoader(b, sampler, new Collator(text.tokenizer().padId(), 2048, encoders,
                    Collator.MaskMode.LENGTHS), manager, log, new MervLoader.Options(2, 2, 3, 60_000_000_000L));
        }

        /** Rows of every batch until the epoch ends, checking each batch's tensors. */
        List<List<Integer>> drain() {
            List<List<Integer>> out = new ArrayList<>();
            while (loader.hasNext()) {
                try (MervBatch b = loader.next()) {
                    int[] rows = loader.lastRows();
                    out.add(Arrays.stream(rows).boxed().toList());
                    check(b, rows);
                }
            }
            return out;
        }

        void check(MervBatch b, int[] rows) {
            assertThat(b.batchSize()).isEqualTo(rows.length);
            List<Integer> mm = new ArrayList<>();
            for (int r = 0; r < rows.length; r++) {
                if (ds.multimodal(rows[r])) {
                    mm.add(r);
                }
            }
            assertThat(Arrays.stream(b.multimodalIndices()).boxed().toList()).containsExactlyElementsOf(mm);
            if (mm.isEmpty()) {
                assertThat(b.pixels()).isEmpty();
            } else {
                assertThat(b.pixels().get(0).getShape().getShape()).containsExactly(mm.size(), 3, 16, SIZE, SIZE);
                assertThat(b.pixels().get(1).getShape().getShape()).containsExactly(mm.size(), 16, 3, SIZE, SIZE);
                assertThat(b.pixels().get(2).getShape().getShape()).containsExactly(mm.size(), 32, 3, SIZE, SIZE);
            }
        }

        @Override
        public void close() throws java.io.IOException {
            loader.close();
            ds.close();
        }
    }

    @Test
    void badRowsAreSkippedExactlyAndNothingElseIsLost() throws Exception {
        try (Rig rig = new Rig(7)) {
            int[] order = rig.sampler.order(0);
            List<List<Integer>> batches = rig.drain();
            assertThat(rig.loader.hasNext()).isFalse();
            assertThat(rig.loader.state()).isEqualTo(new LoaderState(0, rig.loader.batchesInEpoch()));

            Map<Integer, SkipReason> expected = manifest.faults(DatasetRegistry.FINETUNE_JSON).stream()
                    .collect(Collectors.toMap(SynthDataset.Fault::index, SynthDataset.Fault::reason));
            Map<Integer, SkipReason> skipped = rig.log.skips().stream()
                    .collect(Collectors.toMap(s -> s.index(), s -> s.reason()));
            assertThat(skipped).isEqualTo(expected);

            // every sampled good row shows up exactly as often as the sampler listed it; no stand-ins
            Map<Integer, Integer> want = new HashMap<>();
            for (int i : order) {
                if (!expected.containsKey(i)) {
                    want.merge(i, 1, Integer::sum);
                }
            }
            Map<Integer, Integer> got = new HashMap<>();
            batches.forEach(b -> b.forEach(i -> got.merge(i, 1, Integer::sum)));
            assertThat(got).isEqualTo(want);
            // batches keep the sampler's order, minus the skipped rows
            List<Integer> flat = batches.stream().flatMap(List::stream).toList();
            assertThat(flat).containsExactlyElementsOf(
                    Arrays.stream(order).filter(i -> !expected.containsKey(i)).boxed().toList());
        }
    }

    @Test
    void sameSeedSameBatchesAndPixels() throws Exception {
        try (Rig a = new Rig(9); Rig b = new Rig(9)) {
            while (a.loader.hasNext()) {
                assertThat(b.loader.hasNext()).isTrue();
                try (MervBatch x = a.loader.next(); MervBatch y = b.loader.next()) {
                    assertThat(a.loader.lastRows()).containsExactly(b.loader.lastRows());
                    assertThat(x.inputIds().toLongArray()).containsExactly(y.inputIds().toLongArray());
                    for (int e = 0; e < x.pixels().size(); e++) {
                        assertThat(x.pixels().get(e).toFloatArray()).containsExactly(y.pixels().get(e).toFloatArray());
                    }
                }
            }
            assertThat(b.loader.hasNext()).isFalse();
            a.loader.nextEpoch();
            assertThat(a.loader.state()).isEqualTo(new LoaderState(1, 0));
        }
    }

    @Test
    void restoredLoaderContinuesWithoutBuildingEarlierSamples() throws Exception {
        List<List<Integer>> reference;
        try (Rig full = new Rig(11)) {
            reference = full.drain();
        }
        assertThat(reference.size()).isGreaterThan(3);
        LoaderState saved;
        try (Rig first = new Rig(11)) {
            for (int k = 0; k < 3; k++) {
                first.loader.next().close();
            }
            saved = LoaderState.parse(first.loader.state().toJson().toString());
        }
        try (Rig resumed = new Rig(11)) {
            resumed.loader.restore(saved);
            List<List<Integer>> rest = resumed.drain();
            // batches continue where the first run stopped (positions count micro-batches, including any dropped)
            List<Integer> restFlat = rest.stream().flatMap(List::stream).toList();
            List<Integer> refTail = reference.subList(reference.size() - rest.size(), reference.size()).stream()
                    .flatMap(List::stream).toList();
            assertThat(restFlat).containsExactlyElementsOf(refTail);
            // only the rows handed out after the restore were transformed
            long mmRows = restFlat.stream().filter(resumed.ds::multimodal).count();
            assertThat(resumed.lb.calls.get()).isEqualTo(mmRows);
            assertThat(resumed.hiera.calls.get()).isEqualTo(mmRows);
        }
    }
}
