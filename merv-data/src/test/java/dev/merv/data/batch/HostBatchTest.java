package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.model.MervBatch;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.MervMicroBatch;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host side of a batch: the collator says when every mask row is its real tokens then padding (so
 * training attention can be causal only), bf16 pixels are bit for bit the device cast of the fp32 ones, and a
 * micro-batch prepared ahead ({@link MervBatchSource#prefetch}) is the one loaded without a hint, with a hint
 * that is never followed costing no skip-log entry.
 */
class HostBatchTest {

    @Test
    void maskLayoutIsPrefixExactlyWhenEveryRowIsRealTokensThenPadding() {
        List<Sample> rows = List.of(
                CollatorTest.text(0, new long[] {1, 50, 51}, new long[] {-100, -100, 51}),
                CollatorTest.media(1, new long[] {1, 60, CollatorTest.PAD, 61, 2}, new long[] {-100, -100, -100, 61, 2}, 1f,
                        false));
        try (NDManager m = NDManager.newBaseManager()) {
            try (MervBatch b = new Collator(CollatorTest.PAD, 2048, CollatorTest.ENCODERS, Collator.MaskMode.LENGTHS)
                    .collate(rows, m)) {
                assertThat(b.maskLayout()).isEqualTo(MaskLayout.PREFIX);
            }
            // the reference's id != pad hides the genuine pad id inside row 1: a hole, so the mask must be read
            try (MervBatch b = new Collator(CollatorTest.PAD, 2048, CollatorTest.ENCODERS, Collator.MaskMode.PAD_ID)
                    .collate(rows, m)) {
                assertThat(b.maskLayout()).isEqualTo(MaskLayout.ANY);
            }
        }
    }

    @Test
    void bf16PixelsAreTheDeviceCastOfFp32Pixels() {
        Random r = new Random(9);
        float[] a = new float[2 * 3 * 4];
        float[] c = new float[4 * 3 * 4];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian() * 2f;
        }
        for (int i = 0; i < c.length; i++) {
            c[i] = (float) r.nextGaussian() * 2f;
        }
        List<Sample> rows = List.of(new Sample(0, new dev.merv.core.text.EncodedText(new long[] {1, 5}, new long[] {-100, 5}),
                new float[][] {a, c}, false));
        try (NDManager m = NDManager.newBaseManager()) {
            MervBatch fp32 = new Collator(CollatorTest.PAD, 2048, CollatorTest.ENCODERS, Collator.MaskMode.LENGTHS)
                    .collate(rows, m);
            MervBatch bf16 = new Collator(CollatorTest.PAD, 2048, CollatorTest.ENCODERS, Collator.MaskMode.LENGTHS,
                    ScalarType.BFLOAT16).collate(rows, m);
            for (int e = 0; e < 2; e++) {
                NDArray sent = bf16.pixels().get(e);
                assertThat(Torch.dtype(sent)).isEqualTo(ScalarType.BFLOAT16);
                assertThat(sent.getShape()).isEqualTo(fp32.pixels().get(e).getShape());
                NDArray cast = Torch.copy(fp32.pixels().get(e), ScalarType.BFLOAT16);
                assertThat(Torch.toFloatArray(sent)).containsExactly(Torch.toFloatArray(cast));
            }
            fp32.close();
            bf16.close();
        }
    }

    @TempDir
    static Path dir;

    @BeforeAll
    static void dataset() throws Exception {
        MervBatchSourceTest.dir = dir; // the loader test's generated dataset and rig, in this class's folder
        MervBatchSourceTest.generate();
    }

    @AfterAll
    static void close() {
        MervBatchSourceTest.close();
    }

    @Test
    void preparedAheadEqualsLoadedDirectlyAndUnusedHintsLogNothing() throws Exception {
        BatchPlan plan = BatchPlan.of(4, 2, 1);
        try (MervBatchSourceTest.Rig direct = new MervBatchSourceTest.Rig(7);
                MervBatchSourceTest.Rig ahead = new MervBatchSourceTest.Rig(7)) {
            long steps = direct.source.stepsPerEpoch(0, plan);
            for (long step = 0; step < steps; step++) {
                for (int micro = 0; micro < plan.accumulation(); micro++) {
                    try (MervMicroBatch a = direct.source.load(0, step, 0, micro, plan, MervBatchSourceTest.manager);
                            MervMicroBatch b = ahead.source.load(0, step, 0, micro, plan, MervBatchSourceTest.manager)) {
                        // the next one is prepared while this one would train
                        int nextMicro = micro + 1 < plan.accumulation() ? micro + 1 : 0;
                        ahead.source.prefetch(0, nextMicro == 0 ? step + 1 : step, 0, nextMicro, plan);
                        assertThat(b.rows()).containsExactly(a.rows());
                        assertThat(b.skippedSamples()).isEqualTo(a.skippedSamples());
                        assertThat(b.batch().maskLayout()).isEqualTo(a.batch().maskLayout());
                        assertThat(b.batch().inputIds().toLongArray()).containsExactly(a.batch().inputIds().toLongArray());
                        assertThat(b.batch().labels().toLongArray()).containsExactly(a.batch().labels().toLongArray());
                        assertThat(b.batch().attentionMask().toBooleanArray())
                                .containsExactly(a.batch().attentionMask().toBooleanArray());
                        assertThat(b.batch().pixels()).hasSameSizeAs(a.batch().pixels());
                        for (int e = 0; e < a.batch().pixels().size(); e++) {
                            assertThat(b.batch().pixels().get(e).toFloatArray())
                                    .containsExactly(a.batch().pixels().get(e).toFloatArray());
                        }
                    }
                }
            }
            assertThat(ahead.log.size()).isEqualTo(direct.log.size());
            // a hint for a micro-batch never loaded: no skip is logged for it
            ahead.source.prefetch(1, 0, 0, 0, plan);
            Thread.sleep(200);
            assertThat(ahead.log.size()).isEqualTo(direct.log.size());
        }
    }
}
