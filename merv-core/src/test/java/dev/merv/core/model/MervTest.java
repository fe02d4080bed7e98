package dev.merv.core.model;

import dev.merv.core.testing.standin.StandIns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.Stage;
import dev.merv.core.train.StageHandOff;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Merv's assembly, splice, loss, freezing and options, with tiny stand-in encoders and LLM. */
class MervTest {

    static final int VOCAB = 40;
    static final int DIM = 16;
    static final int T = 6;

    NDManager m;
    ModelConfig cfg;
    List<StandIns.Encoder> encoders;
    StandIns.Llm llm;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
        cfg = ModelRegistry.get("merv-tiny");
        encoders = new ArrayList<>();
        int[] n = {9, 4, 4, 16};
        int[] c = {24, 20, 32, 16};
        for (int i = 0; i < 4; i++) {
            encoders.add(new StandIns.Encoder(cfg.videoBackboneIds().get(i), cfg.numFrames().get(i), 2, n[i], c[i], m, 10 + i));
        }
        llm = new StandIns.Llm(VOCAB, DIM, m, null);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    Merv merv(Merv.Options o) {
        return new Merv(cfg, new ArrayList<>(encoders), llm, m, o);
    }

    /** Rows: ids with BOS=1 first, padding 0 at the right; labels -100 on BOS/prompt/padding. */
    MervBatch batch(int b, int[] multimodal) {
        NDManager bm = m.newSubManager();
        long[] ids = new long[b * T];
        long[] labels = new long[b * T];
        boolean[] mask = new boolean[b * T];
        for (int r = 0; r < b; r++) {
            int len = T - r % 2; // row 1, 3 have one pad
            for (int j = 0; j < T; j++) {
                int k = r * T + j;
                ids[k] = j == 0 ? 1 : j < len ? 3 + (r * 7 + j * 5) % (VOCAB - 3) : 0;
                mask[k] = j < len;
                labels[k] = j >= 3 && j < len ? ids[k] : -100;
            }
        }
        List<NDArray> pixels = new ArrayList<>();
        if (multimodal.length > 0) {
            for (int i = 0; i < encoders.size(); i++) {
                pixels.add(encoders.get(i).pixels(bm, multimodal.length, 100 + i));
            }
        }
        return new MervBatch(bm.create(ids, new Shape(b, T)), bm.create(mask, new Shape(b, T)),
                bm.create(labels, new Shape(b, T)), pixels, multimodal, new boolean[b], -1, bm);
    }

    static float[] row(NDArray x, int r) {
        return x.get(r).toFloatArray();
    }

    @Test
    void parameterNamesAreTheReferences() {
        Merv merv = merv(null);
        Map<String, Param> names = merv.module().namedParameters();
        assertThat(names).containsKeys("video_backbones.0.featurizer.proj_scale", "video_backbones.3.featurizer.proj_scale",
                "llm_backbone.llm.model.embed_tokens_weight", "llm_backbone.llm.lm_head_weight",
                "projectors.0.projector.projector.weight", "projectors.3.projector.projector.bias",
                "feature_fusion.Q", "feature_fusion.attention.q_proj_weight", "feature_fusion.attention.k_proj_weight",
                "feature_fusion.attention.v_proj_weight", "feature_fusion.attention.in_proj_bias",
                "feature_fusion.attention.out_proj.weight", "feature_fusion.attention.out_proj.bias");
        assertThat(names.get("feature_fusion.Q").shape()).isEqualTo(new Shape(1, cfg.fusionEmbedDim()));
        assertThat(names.get("projectors.1.projector.projector.weight").shape()).isEqualTo(new Shape(DIM, 20));
        assertThat(merv.visualLength()).isEqualTo(cfg.visualFeatureLength());
        assertThat(merv.parameters("projectors")).containsKey("0.projector.projector.weight");
        assertThat(merv.parameters("feature_fusion")).containsKey("Q");
        assertThat(merv.parameters("llm_backbone")).containsKey("llm.lm_head_weight");
        assertThatThrownBy(() -> merv.parameters("adapter")).hasMessageContaining("feature_fusion");
    }

    @Test
    void allMultimodalSpliceInsertsVisualTokensAfterBos() {
        Merv merv = merv(new Merv.Options().keepIntermediates(true));
        try (MervBatch b = batch(2, new int[] {0, 1}); var g = Torch.withGrad()) {
            SplicedInputs in = merv.splice(b);
            int l = merv.visualLength();
            assertThat(in.embeddings().getShape()).isEqualTo(new Shape(2, T + l, DIM));
            assertThat(in.rowOrder()).containsExactly(0, 1);
            NDArray text = llm.embed(b.inputIds());
            NDArray fused = in.intermediates().get("fused");
            for (int r = 0; r < 2; r++) {
                assertThat(row(in.embeddings().get(r).get("0:1"), 0)).containsExactly(row(text.get(r).get("0:1"), 0));
                assertThat(in.embeddings().get(r).get("1:" + (1 + l)).toFloatArray()).containsExactly(fused.get(r).toFloatArray());
                assertThat(in.embeddings().get(r).get((1 + l) + ":").toFloatArray())
                        .containsExactly(text.get(r).get("1:").toFloatArray());
                boolean[] mask = in.attentionMask().get(r).toBooleanArray();
                boolean[] orig = b.attentionMask().get(r).toBooleanArray();
                long[] lab = in.labels().get(r).toLongArray();
                long[] origLab = b.labels().get(r).toLongArray();
                assertThat(mask[0]).isEqualTo(orig[0]);
                assertThat(lab[0]).isEqualTo(origLab[0]);
                for (int j = 0; j < l; j++) {
                    assertThat(mask[1 + j]).isTrue();
                    assertThat(lab[1 + j]).isEqualTo(-100);
                }
                for (int j = 1; j < T; j++) {
                    assertThat(mask[l + j]).isEqualTo(orig[j]);
                    assertThat(lab[l + j]).isEqualTo(origLab[j]);
                }
            }
            // mixing weights of the last forward, per multimodal row, summing to 1
            MixingWeights w = merv.lastMixingWeights();
            assertThat(w.rows()).isEqualTo(2);
            assertThat(w.encoderIds()).isEqualTo(cfg.videoBackboneIds());
            for (int r = 0; r < 2; r++) {
                double s = 0;
                for (int e = 0; e < 4; e++) {
                    s += w.values()[r * 4 + e];
                }
                assertThat(s).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            }
            assertThat(in.mixingWeights().getShape()).isEqualTo(new Shape(2, 4));
            assertThat(in.intermediates().get("video_features_2").getShape()).isEqualTo(new Shape(2, 2, 4, 32));
        }
    }

    @Test
    void mixedBatchPutsMultimodalRowsFirstAndSkipsEncodersForTextRows() {
        Merv merv = merv(new Merv.Options().keepIntermediates(true));
        try (MervBatch b = batch(3, new int[] {1}); var g = Torch.withGrad()) {
            SplicedInputs in = merv.splice(b);
            int l = merv.visualLength();
            assertThat(in.rowOrder()).containsExactly(1, 0, 2);
            // W7: every encoder saw only the single multimodal row
            for (StandIns.Encoder e : encoders) {
                assertThat(e.batchSizes).containsExactly(1L);
            }
            NDArray text = llm.embed(b.inputIds());
            assertThat(in.embeddings().get(0).get("1:" + (1 + l)).toFloatArray())
                    .containsExactly(in.intermediates().get("fused").get(0).toFloatArray());
            assertThat(in.embeddings().get(0).get((1 + l) + ":").toFloatArray()).containsExactly(text.get(1).get("1:").toFloatArray());
            for (int fusedRow : new int[] {1, 2}) {
                int src = in.rowOrder()[fusedRow];
                assertThat(in.embeddings().get(fusedRow).get("0:" + T).toFloatArray()).containsExactly(text.get(src).toFloatArray());
                assertThat(in.embeddings().get(fusedRow).get(T + ":").toFloatArray()).containsOnly(0f);
                boolean[] mask = in.attentionMask().get(fusedRow).toBooleanArray();
                long[] lab = in.labels().get(fusedRow).toLongArray();
                assertThat(java.util.Arrays.copyOfRange(mask, 0, T)).containsExactly(b.attentionMask().get(src).toBooleanArray());
                assertThat(java.util.Arrays.copyOfRange(lab, 0, T)).containsExactly(b.labels().get(src).toLongArray());
                for (int j = T; j < T + l; j++) {
                    assertThat(mask[j]).isFalse();
                    assertThat(lab[j]).isEqualTo(-100);
                }
            }
            assertThat(merv.lastMixingWeights().rows()).isEqualTo(1);
        }
    }

    @Test
    void textOnlyBatchGoesToTheLlmUnchanged() {
        Merv merv = merv(null);
        try (MervBatch b = batch(2, new int[0]); var g = Torch.withGrad()) {
            MervOutput out = merv.forward(b);
            assertThat(out.inputs().visualTokens()).isZero();
            assertThat(out.logits().getShape()).isEqualTo(new Shape(2, T, VOCAB));
            assertThat(out.inputs().labels()).isSameAs(b.labels());
            for (StandIns.Encoder e : encoders) {
                assertThat(e.batchSizes).isEmpty();
            }
            assertThat(merv.lastMixingWeights()).isNull();
        }
    }

    @Test
    void lossIsShiftedTokenMeanAndGradientsReachProjectorsFusionAndLlmOnly() {
        Merv merv = merv(null);
        merv.applyStage(Stage.FINETUNE);
        try (MervBatch b = batch(3, new int[] {0, 2}); var g = Torch.withGrad()) {
            MervOutput out = merv.forward(b);
            long s = out.logits().getShape().get(1);
            float[] logits = out.logits().toFloatArray();
            long[] labels = out.inputs().labels().toLongArray();
            double sum = 0;
            long count = 0;
            for (int r = 0; r < 3; r++) {
                for (int j = 0; j < s - 1; j++) {
                    long target = labels[(int) (r * s + j + 1)];
                    if (target == -100) {
                        continue;
                    }
                    int base = (int) ((r * s + j) * VOCAB);
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < VOCAB; v++) {
                        max = Math.max(max, logits[base + v]);
                    }
                    double z = 0;
                    for (int v = 0; v < VOCAB; v++) {
                        z += Math.exp(logits[base + v] - max);
                    }
                    sum += Math.log(z) + max - logits[base + (int) target];
                    count++;
                }
            }
            assertThat(out.supervisedTokens()).isEqualTo(count).isPositive();
            assertThat(out.lossSum().getFloat()).isCloseTo((float) sum, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(out.loss().getFloat()).isCloseTo((float) (sum / count), org.assertj.core.data.Offset.offset(1e-5f));
            assertThat(Torch.dtype(out.loss())).isEqualTo(dev.merv.core.torch.ScalarType.FLOAT32);
            JniUtils.backward((PtNDArray) out.loss(), (PtNDArray) m.ones(new Shape()), false, false);
            Map<String, Param> p = merv.module().namedParameters();
            for (String name : List.of("projectors.0.projector.projector.weight", "projectors.3.projector.projector.bias",
                    "feature_fusion.Q", "feature_fusion.attention.k_proj_weight", "llm_backbone.llm.lm_head_weight",
                    "llm_backbone.llm.model.embed_tokens_weight")) {
                assertThat(p.get(name).trainable()).as(name).isTrue();
                assertThat(p.get(name).get().getGradient().abs().sum().getFloat()).as("grad of " + name).isPositive();
            }
            for (String name : List.of("video_backbones.0.featurizer.proj_scale", "feature_fusion.attention.v_proj_weight",
                    "feature_fusion.attention.out_proj.weight")) {
                assertThat(p.get(name).trainable()).as(name).isFalse();
                assertThat(p.get(name).get().hasGradient()).as(name).isFalse();
            }
        }
    }

    @Test
    void bf16ModelRunsThroughTheBridgeAndKeepsAnFp32Loss() {
        Merv merv = merv(null);
        merv.applyStage(Stage.FINETUNE);
        merv.projectorModule().castTo(dev.merv.core.torch.ScalarType.BFLOAT16, m);
        merv.fusion().castTo(dev.merv.core.torch.ScalarType.BFLOAT16, m);
        llm.module().castTo(dev.merv.core.torch.ScalarType.BFLOAT16, m);
        try (MervBatch b = batch(3, new int[] {0, 2}); var g = Torch.withGrad()) {
            MervOutput out = merv.forward(b);
            assertThat(Torch.dtype(out.logits())).isEqualTo(dev.merv.core.torch.ScalarType.BFLOAT16);
            assertThat(Torch.dtype(out.loss())).isEqualTo(dev.merv.core.torch.ScalarType.FLOAT32);
            assertThat(out.loss().getFloat()).isFinite().isPositive();
            JniUtils.backward((PtNDArray) out.loss(), (PtNDArray) m.ones(new Shape()), false, false);
            NDArray grad = merv.module().namedParameters().get("projectors.0.projector.projector.weight").get().getGradient();
            assertThat(Torch.dtype(grad)).isEqualTo(dev.merv.core.torch.ScalarType.BFLOAT16);
        }
    }

    @Test
    void stagesFreezeAsTheReference() {
        Merv merv = merv(null);
        Map<String, Param> p = merv.module().namedParameters();
        merv.applyStage(Stage.ALIGN);
        assertThat(p.get("llm_backbone.llm.lm_head_weight").trainable()).isFalse();
        assertThat(p.get("projectors.2.projector.projector.weight").trainable()).isTrue();
        assertThat(p.get("feature_fusion.Q").trainable()).isTrue();
        assertThat(p.get("video_backbones.1.featurizer.proj_scale").trainable()).isFalse();
        assertThat(Merv.trainableModuleKeys(Stage.ALIGN)).containsExactly("projectors", "feature_fusion");
        for (Stage s : List.of(Stage.FULL_ALIGN, Stage.FINETUNE, Stage.SECOND_FINETUNE)) {
            merv.applyStage(s);
            assertThat(p.get("llm_backbone.llm.lm_head_weight").trainable()).as(s.flag()).isTrue();
            assertThat(p.get("video_backbones.1.featurizer.proj_scale").trainable()).isFalse();
            assertThat(Merv.trainableModuleKeys(s)).containsExactly("projectors", "llm_backbone", "feature_fusion");
        }
        assertThatThrownBy(() -> merv.applyStage(Stage.FULL_FINETUNE)).isInstanceOf(UnsupportedOperationException.class);
        // no-align: finetune starts from fresh projectors; merv-full's arch needs the align weights
        assertThat(StageHandOff.modules(Stage.FINETUNE, merv.arch())).isEmpty();
        assertThat(StageHandOff.modules(Stage.SECOND_FINETUNE, merv.arch())).isEmpty();
        cfg = cfg.with("arch_specifier", "3davg+linear");
        Merv twoStage = merv(null);
        assertThat(StageHandOff.modules(Stage.ALIGN, twoStage.arch())).isEmpty();
        assertThat(StageHandOff.modules(Stage.FULL_ALIGN, twoStage.arch())).isEmpty();
        assertThat(StageHandOff.modules(Stage.FINETUNE, twoStage.arch())).containsExactly("projectors");
        assertThat(StageHandOff.modules(Stage.SECOND_FINETUNE, twoStage.arch()))
                .containsExactly("projectors", "llm_backbone", "feature_fusion");
    }

    @Test
    void noBosTokenPutsVisualTokensFirst() {
        Merv merv = merv(new Merv.Options().bosTokenLength(0).keepIntermediates(true));
        try (MervBatch b = batch(1, new int[] {0}); var g = Torch.withGrad()) {
            SplicedInputs in = merv.splice(b);
            int l = merv.visualLength();
            assertThat(in.embeddings().get(0).get("0:" + l).toFloatArray())
                    .containsExactly(in.intermediates().get("fused").get(0).toFloatArray());
            assertThat(in.labels().get(0).get(l + ":").toLongArray()).containsExactly(b.labels().get(0).toLongArray());
        }
    }

    @Test
    void concurrentEncodersGiveTheSameResult() {
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> new Thread(r, "merv-encoder"));
        try {
            Merv seq = merv(null);
            Merv par = merv(new Merv.Options().encoderExecutor(pool));
            try (MervBatch b = batch(2, new int[] {0, 1}); var g = Torch.withGrad()) {
                float[] a = seq.forward(b).logits().toFloatArray();
                encoders.forEach(e -> e.threads.clear());
                float[] c = par.forward(b).logits().toFloatArray();
                assertThat(c).containsExactly(a);
                for (StandIns.Encoder e : encoders) {
                    assertThat(e.threads).containsOnly("merv-encoder");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void freshWeightsAreReproducibleAndSeededByEncoderZeroDim() {
        Merv a = merv(null);
        Merv b = merv(null);
        Map<String, Param> pa = a.module().namedParameters();
        Map<String, Param> pb = b.module().namedParameters();
        for (String n : List.of("projectors.0.projector.projector.weight", "projectors.3.projector.projector.bias",
                "feature_fusion.Q", "feature_fusion.attention.k_proj_weight")) {
            assertThat(pa.get(n).get().toFloatArray()).as(n).containsExactly(pb.get(n).get().toFloatArray());
        }
        // reference init: zero attention biases, Xavier bound for Q
        assertThat(pa.get("feature_fusion.attention.in_proj_bias").get().toFloatArray()).containsOnly(0f);
        double bound = Math.sqrt(6.0 / (1 + cfg.fusionEmbedDim()));
        assertThat(pa.get("feature_fusion.Q").get().abs().max().getFloat()).isLessThanOrEqualTo((float) bound);
        // the stream is seeded by encoder 0's width alone: another encoder 0 of the same width (other weights, other
        // frame count) draws the same values for projector 1 (whose shape depends on encoder 1 only) ...
        String p1 = "projectors.1.projector.projector.weight";
        int width0 = encoders.get(0).embedDim();
        encoders.set(0, new StandIns.Encoder(cfg.videoBackboneIds().get(0), cfg.numFrames().get(0), 2, 9, width0, m, 99));
        assertThat(merv(null).module().namedParameters().get(p1).get().toFloatArray())
                .containsExactly(pa.get(p1).get().toFloatArray());
        // ... while a different encoder-0 width seeds a different stream. Projector 0's weight is the stream's first
        // draws, U(-1/sqrt(width), 1/sqrt(width)); scaled back to [0, 1) they are the raw draws, equal for equal seeds.
        String p0 = "projectors.0.projector.projector.weight";
        encoders.set(0, new StandIns.Encoder(cfg.videoBackboneIds().get(0), cfg.numFrames().get(0), 2, 9, width0 + 4, m, 10));
        Merv wider = merv(null);
        float[] rawA = rawDraws(pa.get(p0).get().toFloatArray(), width0);
        float[] rawB = rawDraws(wider.module().namedParameters().get(p0).get().toFloatArray(), width0 + 4);
        double apart = 0;
        for (int i = 0; i < 8; i++) {
            apart = Math.max(apart, Math.abs(rawA[i] - rawB[i]));
        }
        assertThat(apart).as("first draws of the streams seeded with %d and %d", width0, width0 + 4).isGreaterThan(0.01);
    }

    /** {@code U(-1/sqrt(fanIn), 1/sqrt(fanIn))} values back to the uniform draws in [0, 1) they came from. */
    private static float[] rawDraws(float[] w, int fanIn) {
        float[] u = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            u[i] = (float) ((w[i] * Math.sqrt(fanIn) + 1) / 2);
        }
        return u;
    }

    @Test
    void mismatchedEncodersFailNamingTheConfigField() {
        encoders.set(2, new StandIns.Encoder("hiera-base-plus-video-tiny", 4, 1, 4, 32, m, 1));
        assertThatThrownBy(() -> merv(null)).hasMessageContaining("model.visual_feature_length=8")
                .hasMessageContaining("hiera-base-plus-video-tiny=4");
        encoders.set(2, new StandIns.Encoder("siglip-vit-b16-224px-all-no-cls-tiny", 4, 2, 4, 32, m, 1));
        assertThatThrownBy(() -> merv(null)).hasMessageContaining("model.video_backbone_ids[2]");
        MervBatch bad = batch(1, new int[] {0});
        encoders.set(2, new StandIns.Encoder("hiera-base-plus-video-tiny", 4, 2, 4, 32, m, 1));
        Merv ok = merv(null);
        List<NDArray> px = new ArrayList<>(bad.pixels());
        px.set(1, m.zeros(new Shape(1, 2, 9, 20)));
        MervBatch wrong = new MervBatch(bad.inputIds(), bad.attentionMask(), bad.labels(), px, new int[] {0},
                new boolean[1], -1, bad.manager());
        assertThatThrownBy(() -> ok.splice(wrong)).hasMessageContaining("[B, 2, 4, 20]");
        bad.close();
    }
}
