package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.infer.MervInference;
import dev.merv.llm.lora.PeftAdapters;
import dev.merv.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./merv pretrain --model.type merv-tiny ... --lora.r 8 --lora.alpha 16} end to end on the CPU: the setup
 * summary counts adapters against the frozen base, every checkpoint holds PEFT-layout adapter files whose lora_B
 * left zero, {@code model.safetensors} holds no weight of the LLM itself, and {@code generate} answers with the
 * adapters on (as the library's loaded model does). Bad {@code --lora.*} flags fail before anything loads.
 */
class LoraPretrainEndToEndTest {

    @Test
    void pretrainWithLoraTrainsAdaptersAndGenerateUsesThem(@TempDir Path tmp) throws Exception {
        TinyRun tiny = TinyRun.get();
        Path runRoot = tmp.resolve("runs");
        Launch p = Launch.run(pretrain(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "8", "--lora.alpha", "16",
                "--model.finetune_learning_rate", "1e-2", "--save_checkpoint_after", "2")));
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.out()).contains("LoRA: llm_backbone adapters").contains("no optimizer state")
                .contains("pretrain: " + TinyRun.STEPS + " steps");
        Path run = runRoot.resolve(TinyRun.RUN_ID);
        List<Path> ckpts = Checkpoints.list(run.resolve("checkpoints"));
        assertThat(ckpts).hasSize(2);
        for (Path ckpt : ckpts) {
            assertThat(ckpt.resolve(PeftAdapters.CONFIG)).isRegularFile();
            assertThat(ckpt.resolve(PeftAdapters.WEIGHTS)).isRegularFile();
            JsonObject cfg = JsonParser.parseString(Files.readString(ckpt.resolve(PeftAdapters.CONFIG))).getAsJsonObject();
            assertThat(cfg.get("r").getAsInt()).isEqualTo(8);
            assertThat(cfg.get("lora_alpha").getAsInt()).isEqualTo(16);
            assertThat(cfg.getAsJsonArray("target_modules")).hasSize(LoraConfig.TARGETS.size());
            try (SafeTensors peft = SafeTensors.open(ckpt.resolve(PeftAdapters.WEIGHTS));
                    SafeTensors model = SafeTensors.open(Checkpoints.modelFile(ckpt)); NDManager m = NDManager.newBaseManager()) {
                assertThat(peft.names()).isNotEmpty().allMatch(n -> n.startsWith("base_model.model.model.layers."));
                for (String n : peft.names()) {
                    if (n.endsWith("lora_B.weight")) {
                        float max = 0;
                        for (float v : peft.load(n, m, ScalarType.FLOAT32).toFloatArray()) {
                            max = Math.max(max, Math.abs(v));
                        }
                        assertThat(max).as(n + " after training").isPositive();
                    }
                }
                // the base LLM is frozen: no weight of its own is a trained tensor of the checkpoint
                assertThat(model.names()).filteredOn(n -> n.startsWith("llm_backbone.")).isNotEmpty()
                        .allMatch(n -> n.contains(".lora_A.") || n.contains(".lora_B."));
            }
        }

        Launch g = Launch.run("generate", "--run", run.toString(), "--weights_root", tiny.weights().toString(),
                "--video", tiny.video(0).toString(), "--prompt", "What colour is it?", "--max_new_tokens", "4");
        assertThat(g.code()).as(g.err()).isZero();
        try (MervInference model = MervInference.load(run, MervInference.Options.defaults()
                .withWeights(dev.merv.core.weights.BackboneWeights.root(tiny.weights())))) {
            assertThat(model.lora()).as("the run's adapters on the loaded LLM").isNotNull();
            MervInference.Answer a = model.generate(tiny.video(0), "What colour is it?", model.greedy(4), null);
            String printed = g.out().strip();
            assertThat(printed.startsWith("(empty answer") ? "" : printed).isEqualTo(a.text());
        }
    }

    private static String[] pretrain(String[] flags) {
        String[] a = new String[flags.length + 1];
        a[0] = "pretrain";
        System.arraycopy(flags, 0, a, 1, flags.length);
        return a;
    }

    @Test
    void badLoraFlagsFailBeforeAnythingLoads(@TempDir Path tmp) {
        TinyRun tiny = TinyRun.get();
        Path runRoot = tmp.resolve("runs");
        assertThatThrownBy(() -> PretrainCommand.parse(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "8", "--lora.alpha",
                "16", "--lora.targets", "[q_proj,qkv_proj]"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("qkv_proj").hasMessageContaining(LoraConfig.TARGETS.toString());
        assertThatThrownBy(() -> PretrainCommand.parse(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "8")))
                .hasMessageContaining("--lora.alpha");
        assertThatThrownBy(() -> PretrainCommand.parse(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "8", "--lora.alpha",
                "16", "--stage", "align"))).hasMessageContaining("stage align keeps the LLM frozen");
        Training t = PretrainCommand.parse(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "4", "--lora.alpha", "8",
                "--lora.dropout", "0.1", "--lora.targets", "[q_proj, v_proj]", "--lora.rslora"));
        assertThat(t.lora()).isEqualTo(new LoraConfig(4, 8, 0.1, List.of("q_proj", "v_proj"), true));
        assertThat(runRoot).doesNotExist();
        Launch bad = Launch.run(pretrain(TinyRun.argv(tiny.root(), runRoot, "--lora.r", "0", "--lora.alpha", "8")));
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err().toLowerCase(Locale.ROOT)).contains("lora.r=0");
    }
}
