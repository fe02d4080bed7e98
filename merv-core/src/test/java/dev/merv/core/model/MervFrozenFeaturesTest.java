package dev.merv.core.model;

import dev.merv.core.testing.standin.StandIns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A batch whose frozen features come (partly) from a cache splices bitwise as the same batch computed from
 * pixels, at every kind of frozen point (after {@code 3davg} / {@code avg}, or the encoder output before a
 * trainable {@code conv} resampler) and with the class-key fusion, whose mean tokens travel with the
 * cached values; what the model hands the cache is what {@link FrozenPoint#compute} gives.
 */
class MervFrozenFeaturesTest {

    static final int VOCAB = 40;
    static final int DIM = 16;
    static final int T = 6;

    NDManager m;
    List<StandIns.Encoder> encoders;
    StandIns.Llm llm;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        ModelConfig tiny = ModelRegistry.get("merv-tiny");
        encoders = new ArrayList<>();
        int[] n = {9, 4, 4, 16};
        int[] c = {24, 20, 32, 16};
        for (int i = 0; i < 4; i++) {
            encoders.add(new StandIns.Encoder(tiny.videoBackboneIds().get(i), tiny.numFrames().get(i), 2, n[i], c[i], m, 10 + i));
        }
        llm = new StandIns.Llm(VOCAB, DIM, m, null);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** Three rows, rows 0 and 2 multimodal. */
    MervBatch batch(NDManager bm, List<NDArray> pixels, FrozenFeatures frozen) {
        int b = 3;
        long[] ids = new long[b * T];
        long[] labels = new long[b * T];
        boolean[] mask = new boolean[b * T];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < T; j++) {
                int k = r * T + j;
                ids[k] = j == 0 ? 1 : 3 + (r * 7 + j * 5) % (VOCAB - 3);
                mask[k] = true;
                labels[k] = j >= 3 ? ids[k] : -100;
            }
        }
        return new MervBatch(bm.create(ids, new Shape(b, T)), bm.create(mask, new Shape(b, T)),
                bm.create(labels, new Shape(b, T)), pixels, new int[] {0, 2}, new boolean[b], -1, bm, MaskLayout.ANY, frozen);
    }

    List<NDArray> pixels(NDManager bm, int rows, long seed) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < encoders.size(); i++) {
            out.add(encoders.get(i).pixels(bm, rows, seed + i));
        }
        return out;
    }

    /** A sink keeping copies (in the test's manager) of what the model stored, per encoder. */
    static final class Recorder implements FrozenFeatures.Sink {
        final NDManager keep;
        final NDArray[] values = new NDArray[4];
        final NDArray[] keys = new NDArray[4];

        Recorder(NDManager keep) {
            this.keep = keep;
        }

        @Override
        public void store(int encoder, NDArray v, NDArray k) {
            values[encoder] = Torch.copy(v, Torch.dtype(v));
            values[encoder].attach(keep);
            if (k != null) {
                keys[encoder] = Torch.copy(k, Torch.dtype(k));
                keys[encoder].attach(keep);
            }
        }
    }

    static List<FrozenFeatures.Encoder> each(FrozenFeatures.Encoder e) {
        List<FrozenFeatures.Encoder> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            out.add(e);
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"no-align+3davg+linear, cross_attention_avg_lq", "no-align+avg+linear, cross_attention_classKV",
        "no-align+conv+linear, cross_attention_avg_lq", "no-align+3davg+gelu-mlp, cross_attention_classKV"})
    void cachedValuesSpliceBitwiseAsComputedOnes(String arch, String fusionType) {
        ModelConfig cfg = ModelRegistry.get("merv-tiny").toBuilder().archSpecifier(arch).featureFusion(fusionType).build();
        Merv merv = new Merv(cfg, new ArrayList<>(encoders), llm, m, null);
        boolean classKeys = merv.fusion().needsClassKeys();
        NDManager keep = m.newSubManager();
        float[] plain;
        try (NDManager bm = m.newSubManager(); var g = Torch.withGrad()) {
            plain = Torch.toFloatArray(merv.splice(batch(bm, pixels(bm, 2, 100), null)).embeddings());
        }
        // all rows missed: the model stores what FrozenPoint computes and splices as without a cache
        Recorder rec = new Recorder(keep);
        try (NDManager bm = m.newSubManager(); var g = Torch.withGrad()) {
            List<NDArray> px = pixels(bm, 2, 100);
            FrozenFeatures ff = new FrozenFeatures(each(new FrozenFeatures.Encoder(new int[] {-1, -1}, null, null, 0)), rec);
            assertBitwise(Torch.toFloatArray(merv.splice(batch(bm, px, ff)).embeddings()), plain);
            for (int i = 0; i < 4; i++) {
                try (FrozenPoint.Values v = merv.frozenPoints().get(i).compute(px.get(i), ScalarType.FLOAT32, classKeys)) {
                    assertBitwise(Torch.toFloatArray(rec.values[i]), Torch.toFloatArray(v.value()));
                    assertThat(rec.values[i].getShape().getShape()).isEqualTo(
                            concat(2, merv.frozenPoints().get(i).rowShape()));
                    assertThat(rec.keys[i] != null).isEqualTo(classKeys);
                }
            }
        }
        assertThat(merv.frozenPoints().get(0).kind()).isEqualTo(arch.contains("conv")
                ? FrozenPoint.Kind.ENCODER_OUTPUT : FrozenPoint.Kind.RESAMPLED);
        // every row cached: no encoder runs
        try (NDManager bm = m.newSubManager(); var g = Torch.withGrad()) {
            List<NDArray> none = pixels(bm, 0, 100);
            List<FrozenFeatures.Encoder> es = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                es.add(new FrozenFeatures.Encoder(new int[] {0, 1}, rec.values[i], rec.keys[i], 0));
                encoders.get(i).batchSizes.clear();
            }
            assertBitwise(Torch.toFloatArray(merv.splice(batch(bm, none, new FrozenFeatures(es, null))).embeddings()), plain);
            encoders.forEach(e -> assertThat(e.batchSizes).isEmpty());
        }
        // mixed: row 0 cached, row 2 computed, plus an extra row computed only to be stored
        Recorder mixed = new Recorder(keep);
        try (NDManager bm = m.newSubManager(); var g = Torch.withGrad()) {
            List<NDArray> all = pixels(bm, 2, 100);
            List<NDArray> extra = pixels(bm, 1, 555);
            List<NDArray> px = new ArrayList<>();
            List<FrozenFeatures.Encoder> es = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                px.add(all.get(i).get("1:2").concat(extra.get(i), 0));
                es.add(new FrozenFeatures.Encoder(new int[] {0, -1}, rec.values[i].get("0:1"),
                        classKeys ? rec.keys[i].get("0:1") : null, 1));
            }
            assertBitwise(Torch.toFloatArray(merv.splice(batch(bm, px, new FrozenFeatures(es, mixed))).embeddings()), plain);
            for (int i = 0; i < 4; i++) {
                assertThat(mixed.values[i].getShape().get(0)).isEqualTo(2);
                assertBitwise(Torch.toFloatArray(mixed.values[i].get("0:1")), Torch.toFloatArray(rec.values[i].get("1:2")));
            }
        }
        keep.close();
    }

    @ParameterizedTest
    @CsvSource({"no-align+3davg+linear"})
    void cachedValuesOfAnotherPrecisionOrShapeAreRefusedNamingTheEncoder(String arch) {
        ModelConfig cfg = ModelRegistry.get("merv-tiny").toBuilder().archSpecifier(arch).build();
        Merv merv = new Merv(cfg, new ArrayList<>(encoders), llm, m, null);
        try (NDManager bm = m.newSubManager()) {
            List<NDArray> none = pixels(bm, 0, 100);
            List<FrozenFeatures.Encoder> es = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                long[] shape = concat(2, merv.frozenPoints().get(i).rowShape());
                NDArray v = bm.zeros(new Shape(shape));
                es.add(new FrozenFeatures.Encoder(new int[] {0, 1}, i == 1 ? Torch.to(v, ScalarType.BFLOAT16) : v, null, 0));
            }
            MervBatch b = batch(bm, none, new FrozenFeatures(es, null));
            assertThatThrownBy(() -> merv.splice(b)).hasMessageContaining("encoder 1 (" + encoders.get(1).id() + ")")
                    .hasMessageContaining("BFLOAT16").hasMessageContaining("FLOAT32");
        }
        try (NDManager bm = m.newSubManager()) {
            List<NDArray> none = pixels(bm, 0, 100);
            List<FrozenFeatures.Encoder> es = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                es.add(new FrozenFeatures.Encoder(new int[] {0, 1}, bm.zeros(new Shape(2, 3, 5)), null, 0));
            }
            MervBatch b = batch(bm, none, new FrozenFeatures(es, null));
            assertThatThrownBy(() -> merv.splice(b)).hasMessageContaining("encoder 0").hasMessageContaining("(2, 3, 5)");
        }
    }

    static long[] concat(long first, long[] rest) {
        long[] out = new long[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    static void assertBitwise(float[] got, float[] want) {
        assertThat(got.length).isEqualTo(want.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError("element " + i + " differs: " + got[i] + " vs " + want[i] + " (of "
                        + want.length + ", " + Arrays.toString(Arrays.copyOf(want, Math.min(4, want.length))) + "...)");
            }
        }
    }
}
