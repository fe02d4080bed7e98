package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

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
        TrainConfig c = TrainerTesting.config(root, id, 12, perDevice, devices, 4);
        c.recompute = recompute;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            List<StepRecord> h = t.run();
            assertThat(h).hasSize(4);
            return new Run(TrainerTesting.weights(t), TrainerTesting.losses(h));
        }
    }

    @Test
    void replicasAndAccumulationSplitsGiveTheSameUpdate() {
        Run whole = run("whole", 12, "cpu", false);
        // the first step runs at lr 0 and Adam moves nothing; later ones do
        assertThat(whole.losses[3]).isLessThan(whole.losses[0] + 1.0);
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
    void recomputationGivesTheSameUpdate() {
        Run plain = run("plain", 6, "cpu:2", false);
        Run recomputed = run("recomputed", 6, "cpu:2", true);
        assertThat(TrainerTesting.maxDiff(plain.weights, recomputed.weights)).isLessThan(1e-6);
    }
}
