package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose layers' input is outside the autograd graph (frozen embeddings, as a frozen or LoRA-adapted LLM
 * gives for a text-only micro-batch) trains with recomputation, and makes the plain path's update: backward stops
 * at the first layer instead of asking DJL for a grad_fn that does not exist (which crashed the JVM).
 */
class FrozenPrefixTest {

    @TempDir
    Path root;

    private Map<String, float[]> run(String id, boolean recompute) {
        TrainConfig c = TrainerTesting.config(root, id, 12, 6, "cpu", 3);
        c.recompute = recompute;
        try (Trainer<TinyBatch> t = new Trainer<>(c, (r, d, m) -> {
            TinyLm lm = new TinyLm(TrainerTesting.VOCAB, TrainerTesting.DIM, TrainerTesting.LAYERS, TrainerTesting.HEADS,
                    TrainerTesting.HIDDEN).init(TrainerTesting.MODEL_SEED, m);
            lm.setTrainable(false, n -> n.startsWith("embed_tokens."));
            return lm;
        }, TrainerTesting.source(), null)) {
            List<StepRecord> h = t.run();
            assertThat(h).hasSize(3).allSatisfy(s -> assertThat(s.updated()).isTrue());
            return TrainerTesting.weights(t);
        }
    }

    @Test
    void recomputationWithAFrozenPrefixMakesThePlainUpdate() {
        Map<String, float[]> plain = run("plain", false);
        Map<String, float[]> recomputed = run("recomputed", true);
        assertThat(recomputed.keySet()).isEqualTo(plain.keySet()).noneMatch(n -> n.startsWith("embed_tokens."));
        assertThat(TrainerTesting.maxDiff(plain, recomputed)).isLessThan(1e-6);
    }
}
