package dev.merv.core.train;

import dev.merv.core.model.Precision;
import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bf16 compute with fp32 masters: the forward runs on bf16 copies (frozen weights cast once), the
 * masters, moments and checkpoint stay fp32, and the run tracks the fp32 one to bf16 precision.
 */
class Bf16TrainingTest {

    @TempDir
    Path root;

    @Test
    void bf16ForwardOnFp32MastersTracksFp32() throws Exception {
        TrainConfig f = TrainerTesting.config(root, "fp32", 12, 6, "cpu:2", 4);
        TrainConfig b = TrainerTesting.config(root, "bf16", 12, 6, "cpu:2", 4);
        b.precision = Precision.BF16;
        b.recompute = true;
        double[] lf;
        double[] lb;
        Map<String, float[]> wf;
        Map<String, float[]> wb;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(f, TrainerTesting.source())) {
            lf = TrainerTesting.losses(t.run());
            wf = TrainerTesting.weights(t);
        }
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(b, TrainerTesting.source())) {
            List<StepRecord> h = t.run();
            lb = TrainerTesting.losses(h);
            for (Map.Entry<String, Param> e : t.model(0).parameters().entrySet()) {
                assertThat(Torch.dtype(e.getValue().get())).as(e.getKey()).isEqualTo(ScalarType.BFLOAT16);
            }
            wb = TrainerTesting.weights(t);
            Path ck = Checkpoints.latest(root.resolve("bf16"));
            try (var st = dev.merv.core.weights.SafeTensors.open(ck.resolve("model.safetensors"))) {
                for (String n : st.names()) {
                    assertThat(st.info(n).dtype()).as(n).isEqualTo(ScalarType.FLOAT32);
                }
            }
        }
        for (int i = 0; i < lf.length; i++) {
            assertThat(Math.abs(lb[i] - lf[i])).as("loss %d", i).isLessThan(0.02 * Math.abs(lf[i]));
        }
        // bf16 weights are the fp32 masters rounded (2^-8 relative) plus bf16 gradient noise in ~lr-sized steps
        for (String k : wf.keySet()) {
            float[] x = wf.get(k);
            float[] y = wb.get(k);
            for (int i = 0; i < x.length; i++) {
                assertThat((double) Math.abs(x[i] - y[i])).as("%s[%d]", k, i).isLessThan(Math.abs(x[i]) / 128.0 + 8e-3);
            }
        }
    }
}
