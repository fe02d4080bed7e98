package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.MervBatch;
import dev.merv.core.text.EncodedText;
import dev.merv.core.testing.standin.NearestTransform;
import java.util.List;
import org.junit.jupiter.api.Test;

class CollatorTest {

    static final long PAD = 3;
    static final List<EncoderInput> ENCODERS = List.of(
            new EncoderInput("cthw", 2, new NearestTransform(2, FrameTransform.Layout.CTHW)),
            new EncoderInput("tchw", 4, new NearestTransform(2, FrameTransform.Layout.TCHW)));

    static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    static Sample media(int index, long[] ids, long[] labels, float v, boolean image) {
        return new Sample(index, new EncodedText(ids, labels), new float[][] {fill(2 * 3 * 4, v), fill(4 * 3 * 4, v + 0.5f)},
                image);
    }

    static Sample text(int index, long[] ids, long[] labels) {
        return new Sample(index, new EncodedText(ids, labels), null, false);
    }

    @Test
    void padsMasksAndStacksMultimodalRowsOnly() {
        List<Sample> rows = List.of(
                text(0, new long[] {1, 50, 51}, new long[] {-100, -100, 51}),
                media(1, new long[] {1, 60, PAD, 61, 2}, new long[] {-100, -100, -100, 61, 2}, 1f, false),
                media(2, new long[] {1, 70}, new long[] {-100, 70}, 2f, true));
        try (NDManager m = NDManager.newBaseManager()) {
            try (MervBatch b = new Collator(PAD, 2048, ENCODERS, Collator.MaskMode.LENGTHS).collate(rows, m)) {
                assertThat(b.inputIds().getShape().getShape()).containsExactly(3, 5);
                assertThat(b.inputIds().toLongArray()).containsExactly(1, 50, 51, PAD, PAD, 1, 60, PAD, 61, 2, 1, 70, PAD,
                        PAD, PAD);
                assertThat(b.labels().toLongArray()).containsExactly(-100, -100, 51, -100, -100, -100, -100, -100, 61, 2,
                        -100, 70, -100, -100, -100);
                // from lengths: the genuine pad id inside row 1 stays visible (W5)
                assertThat(b.attentionMask().toBooleanArray()).containsExactly(true, true, true, false, false, true, true,
                        true, true, true, true, true, false, false, false);
                assertThat(b.multimodalIndices()).containsExactly(1, 2);
                assertThat(b.isImage()).containsExactly(false, false, true);
                assertThat(b.supervisedTokens()).isEqualTo(4);
                assertThat(b.pixels()).hasSize(2);
                assertThat(b.pixels().get(0).getShape().getShape()).containsExactly(2, 3, 2, 2, 2);
                assertThat(b.pixels().get(1).getShape().getShape()).containsExactly(2, 4, 3, 2, 2);
                float[] p0 = b.pixels().get(0).toFloatArray();
                assertThat(p0[0]).isEqualTo(1f);
                assertThat(p0[p0.length - 1]).isEqualTo(2f);
                assertThat(b.pixels().get(1).toFloatArray()[0]).isEqualTo(1.5f);
            }
            try (MervBatch b = new Collator(PAD, 2048, ENCODERS, Collator.MaskMode.PAD_ID).collate(rows, m)) {
                // the reference's id != pad hides it
                assertThat(b.attentionMask().toBooleanArray()[7]).isFalse();
            }
        }
    }

    @Test
    void textOnlyBatchesHaveNoPixelsAndLongRowsAreCut() {
        List<Sample> rows = List.of(text(0, new long[] {1, 2, 3, 4, 5, 6}, new long[] {-100, 2, 3, 4, 5, 6}),
                text(1, new long[] {1, 9}, new long[] {-100, 9}));
        try (NDManager m = NDManager.newBaseManager();
                MervBatch b = new Collator(PAD, 4, ENCODERS, Collator.MaskMode.LENGTHS).collate(rows, m)) {
            assertThat(b.hasMedia()).isFalse();
            assertThat(b.pixels()).isEmpty();
            assertThat(b.inputIds().getShape().getShape()).containsExactly(2, 4);
            assertThat(b.supervisedTokens()).isEqualTo(3 + 1);
        }
    }
}
