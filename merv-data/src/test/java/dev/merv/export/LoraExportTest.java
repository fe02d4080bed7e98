package dev.merv.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.torch.TorchCheckpoint;
import dev.merv.infer.MervInference;
import dev.merv.train.TinySetup;
import dev.merv.train.TrainingResult;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A LoRA run goes back to the reference only merged: without {@code mergeLora} the export is refused naming the
 * fix; with it, {@code llm_backbone} holds the pretrained weights plus {@code scaling * B A}, exactly the merged
 * model's weights, and no adapter tensor.
 */
class LoraExportTest {

    @Test
    void aLoraRunExportsOnlyMergedAndHoldsTheMergedWeights(@TempDir Path tmp) throws Exception {
        TinySetup tiny = TinySetup.get();
        TrainingResult r = tiny.training(tmp.resolve("runs")).stage(Stage.FINETUNE).lora(LoraConfig.of(4, 8)).maxSteps(2)
                .learningRate(1e-2).runId("lora-export").build().run();
        assertThatThrownBy(() -> ReferenceExport.export(r.runDir(), null, tmp.resolve("plain"), null))
                .hasMessageContaining("LoRA").hasMessageContaining("--merge-lora");

        ReferenceExport.Result out = ReferenceExport.export(r.runDir(), null, tmp.resolve("merged"), null, true);
        assertThat(out.notes()).anyMatch(n -> n.contains("merged into llm_backbone"));
        try (MervInference merged = MervInference.load(r.runDir(), MervInference.Options.defaults()
                        .withPrecision(Precision.FP32));
                TorchCheckpoint ckpt = TorchCheckpoint.open(out.checkpoint()); NDManager m = NDManager.newBaseManager()) {
            assertThat(merged.mergeLora()).isPositive();
            assertThat(ckpt.names()).noneMatch(n -> n.contains("lora_"));
            Map<String, Param> llm = merged.model().parameters("llm_backbone");
            int compared = 0;
            for (Map.Entry<String, Param> e : llm.entrySet()) {
                String name = "model.llm_backbone." + e.getKey();
                assertThat(ckpt.names()).as(name).contains(name);
                float[] want = Torch.toFloatArray(Torch.copy(e.getValue().get(), ScalarType.FLOAT32));
                float[] got = ckpt.load(name, m, ScalarType.FLOAT32).toFloatArray();
                assertThat(got.length).isEqualTo(want.length);
                for (int i = 0; i < want.length; i++) {
                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                        throw new AssertionError(name + ": element " + i + " is " + got[i] + ", the merged model has " + want[i]);
                    }
                }
                compared++;
            }
            assertThat(compared).isEqualTo(llm.size()).isPositive();
        }
    }
}
