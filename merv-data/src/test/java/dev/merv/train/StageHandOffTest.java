package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two-stage recipe on merv-tiny with a two-stage architecture ({@code 3davg+linear}, merv-full's):
 * an align run, then a finetune that finds it beside itself (the reference's run-id rule) and starts from
 * its projectors, bitwise, with the LLM from its pretrained weights; a finetune with no or two align runs
 * fails before it reads any weight.
 */
class StageHandOffTest {

    private static final String TWO_STAGE = "3davg+linear";

    @Test
    void finetuneStartsFromTheAlignRunsProjectorsAndThePretrainedLlm(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        TrainingResult align = tiny.training(runs).stage(Stage.ALIGN).model("arch_specifier", TWO_STAGE).maxSteps(2)
                .learningRate(1e-2).build().run();
        assertThat(align.runDir().getFileName().toString()).isEqualTo("videollava+merv-tiny+stage-align+x3");
        Path alignWeights = Checkpoints.modelFile(align.checkpoint());

        Map<String, float[]> projectors = new LinkedHashMap<>();
        Map<String, float[]> llm = new LinkedHashMap<>();
        Training finetune = tiny.training(runs).stage(Stage.FINETUNE).model("arch_specifier", TWO_STAGE).maxSteps(1)
                .beforeTraining(m -> {
                    copy(m, "projectors", projectors);
                    copy(m, "llm_backbone", llm);
                })
                .build();
        assertThat(finetune.handOff().checkpoint()).isEqualTo(align.checkpoint());
        assertThat(finetune.handOff().modules()).containsExactly("projectors");
        finetune.run();

        try (SafeTensors st = SafeTensors.open(alignWeights); NDManager m = NDManager.newBaseManager()) {
            assertThat(projectors).isNotEmpty();
            for (Map.Entry<String, float[]> e : projectors.entrySet()) {
                float[] trained = st.load("projectors." + e.getKey(), m, ScalarType.FLOAT32).toFloatArray();
                assertBitwise("projectors." + e.getKey(), e.getValue(), trained);
            }
        }
        // the LLM comes from its pretrained checkpoint, not from the align run (which did not train it)
        Path llmDir = tiny.weightsDir().resolve(Catalog.TINY_LLAMA2);
        try (SafeTensors st = SafeTensors.open(llmDir.resolve("model.safetensors")); NDManager m = NDManager.newBaseManager()) {
            float[] embed = st.load("model.embed_tokens.weight", m, ScalarType.FLOAT32).toFloatArray();
            float[] got = llm.get("llm.model.embed_tokens.weight");
            // the tiny LLM's embedding is resized for <PAD>: the checkpoint's rows come first, unchanged
            assertBitwise("embed_tokens (checkpoint rows)", java.util.Arrays.copyOf(got, embed.length), embed);
            float[] q = st.load("model.layers.0.self_attn.q_proj.weight", m, ScalarType.FLOAT32).toFloatArray();
            assertBitwise("layers.0.self_attn.q_proj", llm.get("llm.model.layers.0.self_attn.q_proj.weight"), q);
        }
    }

    @Test
    void aMissingOrAmbiguousAlignRunFailsBeforeAnyWeightIsRead(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        Training noAlign = tiny.training(runs).stage(Stage.FINETUNE).model("arch_specifier", TWO_STAGE).maxSteps(1).build();
        assertThatThrownBy(noAlign::run).hasMessageContaining("expected exactly one align run").hasMessageContaining("found 0");
        assertThat(runs.resolve("videollava+merv-tiny+stage-finetune+x3")).doesNotExist();

        Files.createDirectories(runs.resolve("videollava+merv-tiny+stage-align+x3/checkpoints"));
        Files.createDirectories(runs.resolve("videollava+merv-tiny-v2+stage-align+x3/checkpoints"));
        Training two = tiny.training(runs).stage(Stage.FINETUNE).model("arch_specifier", TWO_STAGE).maxSteps(1).build();
        assertThatThrownBy(two::run).hasMessageContaining("found 2");

        // an explicit checkpoint that is not there is named
        Training explicit = tiny.training(runs).stage(Stage.FINETUNE).model("arch_specifier", TWO_STAGE).maxSteps(1)
                .pretrainedCheckpoint(runs.resolve("nope")).build();
        assertThatThrownBy(explicit::run).hasMessageContaining("nope").hasMessageContaining("does not exist");
        // single-stage architectures (merv-tiny's default no-align) need nothing
        assertThat(tiny.training(runs).stage(Stage.FINETUNE).maxSteps(1).build().handOff().loadsSomething()).isFalse();
    }

    /** Bit-for-bit equality, reporting the first difference (AssertJ's diff of large arrays is quadratic). */
    private static void assertBitwise(String what, float[] got, float[] want) {
        assertThat(got).as(what).isNotNull();
        assertThat(got.length).as(what + " length").isEqualTo(want.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
            }
        }
    }

    private static void copy(Merv m, String module, Map<String, float[]> out) {
        try (var ng = Torch.noGrad()) {
            for (Map.Entry<String, Param> e : m.parameters(module).entrySet()) {
                if (e.getValue().isSet()) {
                    try (NDArray f = Torch.copy(e.getValue().get(), ScalarType.FLOAT32)) {
                        out.put(e.getKey(), f.toFloatArray());
                    }
                }
            }
        }
    }
}
