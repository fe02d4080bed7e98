package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.model.Precision;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MemoryPlan} of a live run's parameters is the trainer's own formula, with frozen parts and several replicas. */
class MemoryPlanTest {

    @TempDir
    Path root;

    @Test
    void planOfTheRunsParametersIsTheTrainersFormula() {
        for (String devices : new String[] {"cpu", "cpu:2"}) {
            TrainConfig c = TrainerTesting.config(root, "plan" + devices.replace(':', '_'), 12, 6, devices, 1);
            try (Trainer<TinyBatch> t = new Trainer<>(c, (r, d, m) -> {
                TinyLm lm = new TinyLm(TrainerTesting.VOCAB, TrainerTesting.DIM, TrainerTesting.LAYERS, TrainerTesting.HEADS,
                        TrainerTesting.HIDDEN).init(TrainerTesting.MODEL_SEED, m);
                lm.setTrainable(false, n -> n.startsWith("embed_tokens."));
                return lm;
            }, TrainerTesting.source(), null)) {
                MemoryPlan p = MemoryPlan.of(t.model(0).parameters(), Precision.FP32, t.plan().replicas(), c.bucketCapElements);
                assertThat(p.total()).as(devices).isEqualTo(t.memoryFormula());
                assertThat(p.replicas()).isEqualTo(t.plan().replicas());
                assertThat(p.frozenBytes()).isPositive();
                assertThat(p.optimizerStateBytes()).isEqualTo(16 * p.trainable() / p.replicas());
            }
        }
    }
}
