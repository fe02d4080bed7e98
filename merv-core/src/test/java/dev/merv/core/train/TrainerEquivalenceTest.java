package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import dev.merv.core.testing.standin.TinySource;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One replica with the whole global batch, several CPU replicas with a share each (sharded masters
 * and moments), and different micro-batch / accumulation splits all make the same update up to fp32
 * summation order, because the loss is normalised by the step's total of supervised tokens.
 */
class TrainerEquivalenceTest {

    @TempDir
    Path root;

    private record Run(Map<String, float[]> weights, double[] losses) {}

    private Run run(String id, int perDevice, String devices, boolean recompute) {
        return run(id, perDevice, devices, recompute, LossNormalization.TOKENS);
    }

    private Run run(String id, int perDevice, String devices, boolean recompute, LossNormalization norm) {
        TrainConfig c = TrainerTesting.config(root, id, 12, perDevice, devices, 4);
        c.recompute = recompute;
        c.lossNormalization = norm;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            List<StepRecord> h = t.run();
            assertThat(h).hasSize(4);
            return new Run(TrainerTesting.weights(t), TrainerTesting.losses(h));
        }
    }

    @Test
    void replicasAndAccumulationSplitsGiveTheSameUpdate() {
        Run whole = run("whole", 12, "cpu", false);
        Map<String, float[]> initial = initialWeights();
        // the run really trained: weights moved by ~lr per step, except the parameter outside the loss
        // graph, which AdamW must skip entirely (no decay either, as torch skips grad-is-None params)
        assertThat(TrainerTesting.maxDiff(Map.of("w", initial.get("layers.0.q_proj.weight")),
                Map.of("w", whole.weights.get("layers.0.q_proj.weight")))).isGreaterThan(1e-3);
        assertThat(whole.weights.get("unused_weight")).containsExactly(initial.get("unused_weight"));
        assertThat(whole.weights).doesNotContainKey("frozen_encoder.weight");
        String[][] splits = {{"6", "cpu:2"}, {"4", "cpu:3"}, {"3", "cpu:2"}, {"2", "cpu:3"}, {"3", "cpu"}};
        for (String[] s : splits) {
            Run r = run("split-" + s[0] + "-" + s[1].replace(':', '_'), Integer.parseInt(s[0]), s[1], false);
            double dw = TrainerTesting.maxDiff(whole.weights, r.weights);
            assertThat(dw).as("weights, per-device %s on %s", s[0], s[1]).isLessThan(2e-6);
            for (int i = 0; i < whole.losses.length; i++) {
                assertThat(Math.abs(whole.losses[i] - r.losses[i])).as("loss %d, per-device %s on %s", i, s[0], s[1])
                        .isLessThan(1e-5);
            }
        }
    }

    @Test
    void parityMeanOfMeansDiffersWhenMicroBatchesHoldDifferentTokenCounts() {
        Run tokens = run("tok", 3, "cpu:2", false);
        Run naive = run("naive", 3, "cpu:2", false, LossNormalization.MEAN_OF_MEANS);
        assertThat(TrainerTesting.maxDiff(tokens.weights, naive.weights)).isGreaterThan(1e-6);
        assertThat(Math.abs(tokens.losses[0] - naive.losses[0])).isGreaterThan(1e-6);
    }

    private static Map<String, float[]> initialWeights() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyLm lm = new TinyLm(TrainerTesting.VOCAB, TrainerTesting.DIM, TrainerTesting.LAYERS, TrainerTesting.HEADS,
                    TrainerTesting.HIDDEN).init(TrainerTesting.MODEL_SEED, m);
            Map<String, float[]> out = new java.util.LinkedHashMap<>();
            lm.parameters().forEach((k, v) -> out.put(k, v.get().toFloatArray()));
            return out;
        }
    }

    @Test
    void recomputedBackwardGivesThePlainGradients() {
        TinySource src = TrainerTesting.source();
        BatchPlan plan = BatchPlan.of(4, 4, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            TinyLm lm = new TinyLm(TrainerTesting.VOCAB, TrainerTesting.DIM, 3, TrainerTesting.HEADS,
                    TrainerTesting.HIDDEN).init(TrainerTesting.MODEL_SEED, m);
            Map<String, float[]> plain;
            Map<String, float[]> recomputed;
            double l1;
            double l2;
            try (TinyBatch b = src.load(0, 0, 0, 0, plan, m)) {
                l1 = Backward.plain(lm, b, 0.5, m).summedValue();
                plain = grads(lm);
            }
            resetGradients(lm, m);
            try (TinyBatch b = src.load(0, 0, 0, 0, plan, m)) {
                l2 = Backward.recompute(lm, b, 0.5, m).summedValue();
                recomputed = grads(lm);
            }
            assertThat(l2).isEqualTo(l1);
            assertThat(plain.keySet()).contains("embed_tokens.weight", "layers.0.q_proj.weight", "lm_head.weight");
            for (String k : plain.keySet()) {
                assertThat(recomputed.get(k)).as(k).containsExactly(plain.get(k));
            }
        }
    }

    private static Map<String, float[]> grads(TinyLm lm) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        lm.parameters().forEach((k, p) -> {
            ai.djl.pytorch.engine.PtNDArray g = ai.djl.pytorch.jni.JniUtils.getGradient((ai.djl.pytorch.engine.PtNDArray) p.get());
            if (g != null) {
                out.put(k, g.toFloatArray());
                g.close();
            }
        });
        return out;
    }

    private static void resetGradients(TinyLm lm, NDManager m) {
        lm.parameters().values().forEach(p -> {
            NDArray fresh = p.get().duplicate();
            fresh.attach(m);
            p.set(fresh);
        });
    }

    @Test
    void recomputationGivesTheSameUpdate() {
        Run plain = run("plain", 6, "cpu:2", false);
        Run recomputed = run("recomputed", 6, "cpu:2", true);
        assertThat(TrainerTesting.maxDiff(plain.weights, recomputed.weights)).isLessThan(1e-6);
    }
}
