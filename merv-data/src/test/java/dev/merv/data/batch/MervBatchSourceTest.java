package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.Stage;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.MervBatch;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.data.check.DatasetChecker;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.check.SkipReason;
import dev.merv.core.testing.standin.NearestTransform;
import dev.merv.core.testing.standin.PureTextPipeline;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.DecodeClock;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader ({@link MervBatchSource}) over a generated finetune dataset with every kind of injected
 * fault: bad rows are skipped and reported exactly, no good row is lost, a micro-batch whose every row
 * failed gets the next loadable row of the order, batches are deterministic, a micro-batch is built
 * directly from its index (a resumed run builds nothing before it), and rows a check rejected never load.
 */
class MervBatchSourceTest {

    @TempDir
    static Path dir;
    static SynthDataset.Manifest manifest;
    static NDManager manager;

    static final int SIZE = 8;
    static final BatchPlan PLAN = BatchPlan.of(4, 2, 1);
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

    /** A source over the finetune JSON with fresh counting transforms. */
    static final class Rig implements AutoCloseable {
        final VideoLlavaDataset ds;
        final SkipLog log = new SkipLog();
        final NearestTransform lb = new NearestTransform(SIZE, FrameTransform.Layout.CTHW);
        final NearestTransform dino = new NearestTransform(SIZE, FrameTransform.Layout.TCHW);
        final NearestTransform hiera = new NearestTransform(SIZE, FrameTransform.Layout.TCHW);
        final List<EncoderInput> encoders = List.of(new EncoderInput("languagebind", 16, lb),
                new EncoderInput("dinov2", 16, dino), new EncoderInput("hiera", 32, hiera));
        final MervBatchSource source;

        Rig(long seed, Set<Integer> excluded, MervBatchSource.Lengths lengths) throws Exception {
            ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE));
            source = new MervBatchSource(ds, new PureTextPipeline(), encoders,
                    MervBatchSource.Options.defaults(seed, 2048, 64).withDecoder(TICKS).withExcluded(excluded)
                            .withLengths(lengths), log);
        }

        Rig(long seed) throws Exception {
            this(seed, Set.of(), MervBatchSource.Lengths.TOKENS);
        }

        /** Every micro-batch of epoch 0 for {@code rank} of {@code plan}, from step {@code from}, checking each. */
        List<int[]> drain(BatchPlan plan, int rank, long from) {
            List<int[]> out = new ArrayList<>();
            for (long step = from; step < source.stepsPerEpoch(0, plan); step++) {
                for (int micro = 0; micro < plan.accumulation(); micro++) {
                    try (MervMicroBatch mb = source.load(0, step, rank, micro, plan, manager)) {
                        check(mb.batch(), mb.rows());
                        out.add(mb.rows());
                    }
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
            source.close();
            ds.close();
        }
    }

    @Test
    void badRowsAreSkippedExactlyAndNothingElseIsLost() throws Exception {
        Map<Integer, SkipReason> faults = manifest.faults(DatasetRegistry.FINETUNE_JSON).stream()
                .collect(Collectors.toMap(SynthDataset.Fault::index, SynthDataset.Fault::reason));
        try (Rig rig = new Rig(7)) {
            List<int[]> batches = rig.drain(PLAN, 0, 0);
            Map<Integer, SkipReason> skipped = rig.log.skips().stream()
                    .collect(Collectors.toMap(Skip::index, Skip::reason, (a, b) -> a));
            assertThat(skipped).isEqualTo(faults);

            // what each micro-batch must hold: its sampled rows minus the bad ones, or, when all of them are bad,
            // the next good row of the epoch order
            List<Integer> order = new ArrayList<>();
            long steps = rig.source.stepsPerEpoch(0, PLAN);
            for (long s = 0; s < steps; s++) {
                for (int m = 0; m < PLAN.accumulation(); m++) {
                    Arrays.stream(rig.source.rows(0, s, 0, m, PLAN)).forEach(order::add);
                }
            }
            int k = 0;
            int standIns = 0;
            for (long s = 0; s < steps; s++) {
                for (int m = 0; m < PLAN.accumulation(); m++) {
                    int[] sampled = rig.source.rows(0, s, 0, m, PLAN);
                    List<Integer> good = Arrays.stream(sampled).filter(r -> !faults.containsKey(r)).boxed().toList();
                    List<Integer> want = good;
                    if (good.isEmpty()) {
                        int start = (int) (s * PLAN.perReplica() + (long) m * PLAN.perDeviceBatch()) + PLAN.perDeviceBatch();
                        int next = -1;
                        for (int j = 0; j < order.size() && next < 0; j++) {
                            int r = order.get((start + j) % order.size());
                            next = faults.containsKey(r) ? -1 : r;
                        }
                        want = List.of(next);
                        standIns++;
                    }
                    assertThat(Arrays.stream(batches.get(k)).boxed().toList()).as("micro-batch %d.%d", s, m)
                            .containsExactlyElementsOf(want);
                    k++;
                }
            }
            assertThat(k).isEqualTo(batches.size());
            System.out.printf("%d micro-batches, %d rows skipped, %d stand-ins%n", k, faults.size(), standIns);
        }
    }

    @Test
    void sameSeedSameBatchesAndPixels() throws Exception {
        try (Rig a = new Rig(9); Rig b = new Rig(9)) {
            long steps = a.source.stepsPerEpoch(0, PLAN);
            assertThat(b.source.stepsPerEpoch(0, PLAN)).isEqualTo(steps);
            for (long s = 0; s < steps; s++) {
                for (int m = 0; m < PLAN.accumulation(); m++) {
                    try (MervMicroBatch x = a.source.load(0, s, 0, m, PLAN, manager);
                            MervMicroBatch y = b.source.load(0, s, 0, m, PLAN, manager)) {
                        assertThat(x.rows()).containsExactly(y.rows());
                        assertThat(x.batch().inputIds().toLongArray()).containsExactly(y.batch().inputIds().toLongArray());
                        for (int e = 0; e < x.batch().pixels().size(); e++) {
                            assertThat(x.batch().pixels().get(e).toFloatArray())
                                    .containsExactly(y.batch().pixels().get(e).toFloatArray());
                        }
                    }
                }
            }
        }
    }

    @Test
    void aMicroBatchIsBuiltFromItsIndexAlone() throws Exception {
        List<int[]> reference;
        try (Rig full = new Rig(11)) {
            reference = full.drain(PLAN, 0, 0);
        }
        long skip = 2;
        try (Rig resumed = new Rig(11)) {
            List<int[]> rest = resumed.drain(PLAN, 0, skip);
            int skippedBatches = (int) skip * PLAN.accumulation();
            assertThat(rest).hasSize(reference.size() - skippedBatches);
            for (int i = 0; i < rest.size(); i++) {
                assertThat(rest.get(i)).containsExactly(reference.get(i + skippedBatches));
            }
            // only the rows of the micro-batches loaded were transformed
            long mmRows = rest.stream().flatMapToInt(Arrays::stream).filter(resumed.ds::multimodal).count();
            assertThat(resumed.lb.calls.get()).isEqualTo(mmRows);
            assertThat(resumed.hiera.calls.get()).isEqualTo(mmRows);
        }
    }

    @Test
    void rowsACheckRejectedAreNeverLoaded() throws Exception {
        DatasetChecker.Report report = DatasetChecker.check(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE),
                new DatasetChecker.Options(32, 2, TICKS));
        Path json = dir.resolve("check.json");
        report.write(json);
        Set<Integer> excluded = DatasetChecker.skippedIndices(json);
        assertThat(excluded).isNotEmpty();
        BatchPlan two = BatchPlan.of(4, 2, 2);
        for (MervBatchSource.Lengths lengths : MervBatchSource.Lengths.values()) {
            try (Rig rig = new Rig(7, excluded, lengths)) {
                Set<Integer> seen = new HashSet<>();
                for (int rank = 0; rank < two.replicas(); rank++) {
                    rig.drain(two, rank, 0).forEach(rows -> Arrays.stream(rows).forEach(seen::add));
                }
                // only the malformed rows are reported again (found while indexing); nothing is decoded and skipped
                assertThat(rig.log.skips()).as(lengths.name()).allMatch(s -> s.reason() == SkipReason.MALFORMED_ENTRY);
                assertThat(rig.log.skips().stream().map(Skip::index).toList()).allMatch(excluded::contains);
                assertThat(seen).as(lengths.name()).doesNotContainAnyElementsOf(excluded).isNotEmpty();
            }
        }
    }
}
