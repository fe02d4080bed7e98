package dev.merv.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.torch.ReferenceCheckpoint;
import dev.merv.core.weights.torch.ReferenceRun;
import dev.merv.core.weights.torch.TorchSaveFiles;
import dev.merv.infer.MervInference;
import dev.merv.train.TinySetup;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./merv export}'s library call on merv-tiny runs: the exported checkpoint holds the run's tensors bitwise under
 * the reference's module layout plus the fusion's untrained value path as training drew it, loads back through the
 * inference path with the same answers, and starts a finetune as {@code --pretrained_checkpoint} (a reference .pt).
 * With {@code -Dmerv.export.out=DIR} the export is kept in DIR with {@code expected.safetensors} beside it for
 * {@code tools/torch-save/verify_export.py}'s check in PyTorch.
 */
class ReferenceExportTest {

    private static Path keep(Path tmp) throws IOException {
        String keep = System.getProperty("merv.export.out");
        return keep == null || keep.isBlank() || keep.startsWith("${") ? tmp : Files.createDirectories(Path.of(keep));
    }

    @Test
    void anExportedRunHoldsTheRunsTensorsAndAnswersAsTheRunDoes(@TempDir Path tmp) throws IOException {
        TinySetup tiny = TinySetup.get();
        TrainingResult r = tiny.training(tmp.resolve("runs")).stage(Stage.FINETUNE).maxSteps(2).learningRate(3e-3)
                .runId("export").build().run();
        Path out = keep(tmp).resolve("exported");
        ReferenceExport.Result res = ReferenceExport.export(r.runDir(), null, out, null);
        assertThat(res.checkpoint()).isEqualTo(out.resolve(ReferenceRun.CHECKPOINT)).exists();
        assertThat(res.tensors().keySet()).containsExactly("projectors", "feature_fusion", "llm_backbone");

        Path trained = Checkpoints.modelFile(Checkpoints.latest(r.runDir()));
        Map<String, NDArray> expected = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(trained); ReferenceCheckpoint ck = ReferenceCheckpoint.open(res.checkpoint());
                NDManager m = NDManager.newBaseManager()) {
            for (String n : st.names()) {
                assertThat(ck.names()).contains(n);
                byte[] a = TorchSaveFiles.bytes(st.load(n, m, null));
                byte[] b = TorchSaveFiles.bytes(ck.load(n, m, null));
                assertThat(Arrays.equals(a, b)).as("%s bitwise", n).isTrue();
                assertThat(ck.info(n).dtype()).isEqualTo(st.info(n).dtype());
            }
            // exactly the run's tensors plus the fusion's frozen value path (W8)
            assertThat(ck.names()).hasSize(st.names().size() + res.added().size());
            assertThat(res.added()).isNotEmpty().allMatch(n -> n.startsWith("feature_fusion.attention."));
            for (String n : ck.names()) {
                expected.put("model." + n, ck.load(n, m, null));
            }
            // beside the export, what PyTorch must read back (tools/torch-save/verify_export.py)
            SafeTensorsWriter.write(out.resolve("expected.safetensors"), expected, Map.of("format", "pt"));
        }
        JsonObject cfg = JsonParser.parseString(Files.readString(out.resolve("config.json"))).getAsJsonObject();
        assertThat(cfg.getAsJsonObject("model").get("arch_specifier").getAsString())
                .isEqualTo(MervInference.readRunConfig(r.runDir()).model().archSpecifier());
        assertThat(res.notes()).anyMatch(n -> n.contains("exists only in merv"));

        MervInference.Options fp32 = MervInference.Options.defaults().withPrecision(Precision.FP32);
        String question = "What colour is the moving shape?";
        try (MervInference fromRun = MervInference.load(r.runDir(), fp32);
                MervInference fromExport = MervInference.load(out, fp32.withWeights(tiny.weights()))) {
            assertThat(fromExport.generate(tiny.video(0), question, fromExport.greedy(6), null).tokens())
                    .containsExactly(fromRun.generate(tiny.video(0), question, fromRun.greedy(6), null).tokens());
            // the added fusion tensors are the ones a model of this run is built with
            Map<String, Param> live = fromRun.model().parameters("feature_fusion");
            try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(res.checkpoint()); NDManager m = NDManager.newBaseManager();
                    var ng = Torch.noGrad()) {
                for (String n : res.added()) {
                    float[] got = ck.load(n, m, ScalarType.FLOAT32).toFloatArray();
                    float[] want = Torch.copy(live.get(n.substring("feature_fusion.".length())).get(), ScalarType.FLOAT32)
                            .toFloatArray();
                    assertThat(Arrays.equals(got, want)).as("%s equals the built model's", n).isTrue();
                }
            }
        }
        assertThatThrownBy(() -> ReferenceExport.export(r.runDir(), null, out, null)).hasMessageContaining("already holds");
        assertThatThrownBy(() -> ReferenceExport.export(out, null, tmp.resolve("again"), tiny.weights()))
                .hasMessageContaining("already in the reference's layout");
    }

    @Test
    void aReferenceCheckpointStartsAFinetuneAsPretrainedCheckpoint(@TempDir Path tmp) throws IOException {
        TinySetup tiny = TinySetup.get();
        String twoStage = "3davg+linear";
        TrainingResult align = tiny.training(tmp.resolve("runs")).stage(Stage.ALIGN).model("arch_specifier", twoStage)
                .maxSteps(2).learningRate(1e-2).build().run();
        ReferenceExport.Result res = ReferenceExport.export(align.runDir(), null, tmp.resolve("align-ref"), null);
        assertThat(res.tensors()).doesNotContainKey("llm_backbone");

        Map<String, float[]> started = new LinkedHashMap<>();
        Training finetune = tiny.training(tmp.resolve("other")).stage(Stage.FINETUNE).model("arch_specifier", twoStage)
                .maxSteps(1).pretrainedCheckpoint(res.checkpoint())
                .beforeTraining(m -> {
                    try (var ng = Torch.noGrad()) {
                        m.parameters("projectors").forEach((k, p) -> started.put(k, Torch.copy(p.get(), ScalarType.FLOAT32)
                                .toFloatArray()));
                    }
                })
                .build();
        assertThat(finetune.handOff().checkpoint()).isEqualTo(res.checkpoint());
        finetune.run();
        try (SafeTensors st = SafeTensors.open(Checkpoints.modelFile(align.checkpoint())); NDManager m = NDManager.newBaseManager()) {
            assertThat(started).isNotEmpty();
            for (Map.Entry<String, float[]> e : started.entrySet()) {
                assertThat(Arrays.equals(e.getValue(), st.load("projectors." + e.getKey(), m, ScalarType.FLOAT32)
                        .toFloatArray())).as("%s equals the align run's", e.getKey()).isTrue();
            }
        }
        // a .pt without the modules the stage takes over is refused before training
        Training second = tiny.training(tmp.resolve("third")).stage(Stage.SECOND_FINETUNE).model("arch_specifier", twoStage)
                .maxSteps(1).pretrainedCheckpoint(res.checkpoint()).build();
        assertThatThrownBy(second::run).hasMessageContaining("latest-checkpoint.pt").hasMessageContaining("llm_backbone");
    }
}
