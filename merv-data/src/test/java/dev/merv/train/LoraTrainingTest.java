package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.model.MervBatch;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.SafeTensors;
import dev.merv.llm.lora.PeftAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA through the real trainer on merv-tiny: only the adapters train in the LLM (its own weights end bitwise as
 * they started, the adapters' B leaves zero), projectors and fusion train fully, and every checkpoint holds the
 * adapters in PEFT's layout beside {@code model.safetensors}; a run stopped and resumed ends bitwise where the
 * uninterrupted run ends; two replicas make the update one makes; configurations that cannot work fail before any
 * weight is read.
 */
class LoraTrainingTest {

    static final LoraConfig LORA = LoraConfig.of(8, 16);

    private static Training.Builder lora(TinySetup tiny, Path runs, String id, int steps) {
        return tiny.training(runs).stage(Stage.FINETUNE).lora(LORA).maxSteps(steps).learningRate(1e-2).runId(id);
    }

    @Test
    void onlyTheAdaptersTrainInTheLlmAndCheckpointsHoldPeftFiles(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        Map<String, float[]> before = new TreeMap<>();
        Map<String, float[]> after = new TreeMap<>();
        Map<String, Boolean> trains = new LinkedHashMap<>();
        TrainingResult r = lora(tiny, runs, "lora", 3)
                .beforeTraining(m -> {
                    copy(m, before);
                    m.module().namedParameters().forEach((n, p) -> trains.put(n, p.trainable()));
                })
                .afterTraining(m -> copy(m, after))
                .build().run();
        assertThat(r.steps()).hasSize(3).allSatisfy(s -> assertThat(s.updated()).isTrue());

        // what trains: the adapters of every linear layer, projectors and fusion; never the LLM's own weights
        List<String> adapters = trains.keySet().stream().filter(n -> n.contains(".lora_")).toList();
        assertThat(adapters).isNotEmpty().allMatch(n -> n.startsWith("llm_backbone.llm.model.layers."));
        assertThat(adapters).allMatch(trains::get);
        assertThat(trains).allSatisfy((n, t) -> {
            if (n.startsWith("llm_backbone.") && !n.contains(".lora_")) {
                assertThat(t).as(n).isFalse();
            }
        });
        assertThat(trains.entrySet().stream().filter(e -> e.getKey().startsWith("projectors.")))
                .isNotEmpty().allMatch(Map.Entry::getValue);

        for (Map.Entry<String, float[]> e : before.entrySet()) {
            String n = e.getKey();
            if (n.startsWith("llm_backbone.") && !n.contains(".lora_")) {
                assertBitwise(n + " (frozen base)", after.get(n), e.getValue());
            }
        }
        int movedB = 0;
        for (String n : adapters) {
            if (n.contains(".lora_B.")) {
                assertThat(before.get(n)).as(n + " starts at zero").containsOnly(0f);
                movedB += maxAbs(after.get(n)) > 0 ? 1 : 0;
            }
        }
        assertThat(movedB).as("lora_B tensors that left zero").isEqualTo(adapters.size() / 2);

        // the checkpoint: PEFT files beside model.safetensors, the same values under PEFT's keys
        Path ckpt = r.checkpoint();
        assertThat(ckpt.resolve(PeftAdapters.CONFIG)).isRegularFile();
        JsonObject cfg = JsonParser.parseString(Files.readString(ckpt.resolve(PeftAdapters.CONFIG))).getAsJsonObject();
        assertThat(cfg.get("peft_type").getAsString()).isEqualTo("LORA");
        assertThat(cfg.get("r").getAsInt()).isEqualTo(LORA.r());
        assertThat(cfg.get("lora_alpha").getAsDouble()).isEqualTo(LORA.alpha());
        assertThat(cfg.get("base_model_name_or_path").getAsString()).endsWith("llama2-tiny-pure");
        assertThat(PeftAdapters.readConfig(ckpt)).isEqualTo(LORA);
        try (SafeTensors model = SafeTensors.open(Checkpoints.modelFile(ckpt));
                SafeTensors peft = SafeTensors.open(ckpt.resolve(PeftAdapters.WEIGHTS)); NDManager m = NDManager.newBaseManager()) {
            assertThat(model.names()).noneMatch(n -> n.startsWith("llm_backbone.") && !n.contains(".lora_"));
            assertThat(peft.names()).hasSize(adapters.size()).allMatch(n -> n.startsWith("base_model.model.model.layers."));
            for (String n : adapters) {
                String key = "base_model.model." + n.substring("llm_backbone.llm.".length());
                float[] a = peft.load(key, m, ScalarType.FLOAT32).toFloatArray();
                assertBitwise(key, a, model.load(n, m, ScalarType.FLOAT32).toFloatArray());
                assertBitwise(key + " (trained)", a, after.get(n));
            }
        }
    }

    @Test
    void aResumedLoraRunEndsBitwiseWhereTheUninterruptedOneEnds(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        TrainingResult straight = lora(tiny, runs, "straight", 4).build().run();
        lora(tiny, runs, "resumed", 4).stopAfterSteps(2).build().run();
        TrainingResult resumed = lora(tiny, runs, "resumed", 4).resume(true).build().run();
        assertThat(resumed.steps()).extracting(StepRecord::step).containsExactly(3L, 4L);
        for (int i = 0; i < 2; i++) {
            assertThat(resumed.steps().get(i).loss()).isEqualTo(straight.steps().get(i + 2).loss());
        }
        assertSameTensors(Checkpoints.modelFile(straight.checkpoint()), Checkpoints.modelFile(resumed.checkpoint()), 0);
        assertSameTensors(straight.checkpoint().resolve(PeftAdapters.WEIGHTS), resumed.checkpoint().resolve(PeftAdapters.WEIGHTS), 0);
    }

    @Test
    void twoReplicasMakeTheUpdateOneMakes(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        // merv shards optimizer state and gradients, not compute weights: fsdp-shard-grad-op on several replicas
        TrainingResult one = lora(tiny, runs, "one", 3).devices("cpu").model("finetune_train_strategy", "fsdp-shard-grad-op")
                .build().run();
        TrainingResult two = lora(tiny, runs, "two", 3).devices("cpu:2").model("finetune_train_strategy", "fsdp-shard-grad-op")
                .build().run();
        for (int i = 0; i < 3; i++) {
            assertThat(two.steps().get(i).loss()).as("loss of step %d", i + 1)
                    .isCloseTo(one.steps().get(i).loss(), org.assertj.core.data.Offset.offset(1e-5));
        }
        // fp32 summation order differs between the splits, nothing else: the trainer's own equivalence bound
        // (TrainerEquivalenceTest); measured 3e-7 on libtorch 2.7.1 and 1.9e-6 on 2.14, whose kernels sum differently
        assertSameTensors(Checkpoints.modelFile(one.checkpoint()), Checkpoints.modelFile(two.checkpoint()), 2e-6);
    }

    /**
     * Recomputation gives the plain path's update with LoRA too; in bf16 the frozen base is held in bf16 and the
     * adapters train from fp32 masters.
     */
    @Test
    void recomputationAndBf16TrainAsWithoutLora(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        TrainingResult plain = lora(tiny, runs, "plain", 2).recompute(false).build().run();
        TrainingResult recomputed = lora(tiny, runs, "recomputed", 2).recompute(true).build().run();
        for (int i = 0; i < 2; i++) {
            assertThat(recomputed.steps().get(i).loss()).isCloseTo(plain.steps().get(i).loss(),
                    org.assertj.core.data.Offset.offset(1e-6));
        }
        assertSameTensors(Checkpoints.modelFile(plain.checkpoint()), Checkpoints.modelFile(recomputed.checkpoint()), 1e-6);

        Map<String, ScalarType> dtypes = new LinkedHashMap<>();
        TrainingResult bf16 = lora(tiny, runs, "bf16", 2).precision(dev.merv.core.model.Precision.BF16).recompute(true)
                .beforeTraining(m -> m.parameters("llm_backbone").forEach((n, p) -> dtypes.put(n, p.dtype())))
                .build().run();
        assertThat(bf16.steps()).allSatisfy(st -> assertThat(st.loss()).isFinite());
        assertThat(dtypes).allSatisfy((n, t) -> assertThat(t).as(n).isEqualTo(ScalarType.BFLOAT16));
        try (SafeTensors st = SafeTensors.open(Checkpoints.modelFile(bf16.checkpoint()))) {
            assertThat(st.names()).filteredOn(n -> n.contains(".lora_")).isNotEmpty()
                    .allSatisfy(n -> assertThat(st.info(n).dtype()).as(n + " (fp32 master)").isEqualTo(ScalarType.FLOAT32));
        }
    }

    /**
     * A text-only micro-batch never reaches the encoders or projectors, so with only adapters training its first
     * layer's input is outside the autograd graph: recomputation must stop there (it crashed the JVM before) and give
     * the plain path's update.
     */
    @Test
    void textOnlyMicroBatchesTrainWithRecomputation(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        BatchSource<MervMicroBatch> textOnly = new BatchSource<>() {
            @Override
            public long stepsPerEpoch(int epoch, BatchPlan plan) {
                return 2;
            }

            @Override
            public MervMicroBatch load(int epoch, long step, int rank, int micro, BatchPlan plan, NDManager manager) {
                int b = plan.perDeviceBatch();
                int t = 12;
                java.util.Random rnd = new java.util.Random(step * 7 + micro);
                long[] ids = new long[b * t];
                long[] labels = new long[b * t];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 3 + rnd.nextInt(200);
                    labels[i] = i % t < 4 ? -100 : ids[i];
                }
                NDManager m = manager.newSubManager();
                MervBatch batch = new MervBatch(m.create(ids, new Shape(b, t)), m.ones(new Shape(b, t), DataType.BOOLEAN),
                        m.create(labels, new Shape(b, t)), List.of(), new int[0], new boolean[b], (long) b * (t - 4), m);
                return new MervMicroBatch(batch);
            }
        };
        TrainingResult plain = lora(tiny, runs, "text-plain", 2).batchSource(textOnly).recompute(false).build().run();
        TrainingResult recomputed = lora(tiny, runs, "text-recomputed", 2).batchSource(textOnly).recompute(true).build().run();
        for (int i = 0; i < 2; i++) {
            assertThat(recomputed.steps().get(i).loss()).isFinite()
                    .isCloseTo(plain.steps().get(i).loss(), org.assertj.core.data.Offset.offset(1e-6));
        }
        assertSameTensors(Checkpoints.modelFile(plain.checkpoint()), Checkpoints.modelFile(recomputed.checkpoint()), 1e-6);
    }

    @Test
    void configurationsThatCannotWorkFailBeforeAnyWeightIsRead(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        assertThatThrownBy(() -> tiny.training(runs).stage(Stage.ALIGN).lora(LORA).build())
                .isInstanceOf(ConfigException.class).hasMessageContaining("stage align keeps the LLM frozen");
        // a LoRA checkpoint resumed without LoRA, or with other adapters, and a full finetune's resumed with LoRA
        lora(tiny, runs, "run", 2).stopAfterSteps(1).build().run();
        assertThatThrownBy(() -> tiny.training(runs).maxSteps(2).learningRate(1e-2).runId("run").resume(true).build()
                .preflight()).hasMessageContaining("trained with LoRA r=8 alpha=16").hasMessageContaining("--lora");
        assertThatThrownBy(() -> tiny.training(runs).lora(LoraConfig.of(4, 16)).maxSteps(2).learningRate(1e-2).runId("run")
                .resume(true).build().preflight()).hasMessageContaining("this run has LoRA r=4");
        tiny.training(runs).maxSteps(2).learningRate(1e-2).runId("full").stopAfterSteps(1).build().run();
        assertThatThrownBy(() -> lora(tiny, runs, "full", 2).resume(true).build().preflight())
                .hasMessageContaining("trained without LoRA");
    }

    static void copy(Merv m, Map<String, float[]> out) {
        try (var ng = Torch.noGrad()) {
            for (Map.Entry<String, Param> e : m.module().namedParameters().entrySet()) {
                if (e.getValue().isSet() && !e.getKey().startsWith("video_backbones.")) {
                    try (NDArray f = Torch.copy(e.getValue().get(), ScalarType.FLOAT32)) {
                        out.put(e.getKey(), f.toFloatArray());
                    }
                }
            }
        }
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static void assertSameTensors(Path a, Path b, double atol) {
        try (SafeTensors x = SafeTensors.open(a); SafeTensors y = SafeTensors.open(b); NDManager m = NDManager.newBaseManager()) {
            assertThat(y.names()).isEqualTo(x.names());
            for (String n : x.names()) {
                float[] u = x.load(n, m, ScalarType.FLOAT32).toFloatArray();
                float[] v = y.load(n, m, ScalarType.FLOAT32).toFloatArray();
                if (atol == 0) {
                    assertBitwise(n, v, u);
                } else {
                    // the key bias of an attention has no effect on its softmax, so its exact gradient is 0 and
                    // AdamW turns the rounding noise it gets into lr-sized steps of either sign: not comparable
                    int keyFrom = n.endsWith("attention.in_proj_bias") ? u.length / 3 : u.length;
                    int keyTo = n.endsWith("attention.in_proj_bias") ? 2 * u.length / 3 : u.length;
                    for (int i = 0; i < u.length; i++) {
                        if ((i < keyFrom || i >= keyTo) && Math.abs(u[i] - v[i]) > atol) {
                            throw new AssertionError(n + ": element " + i + " is " + v[i] + " vs " + u[i]);
                        }
                    }
                }
            }
        }
    }

    /** Bit-for-bit equality, reporting the first difference (AssertJ's diff of large arrays is quadratic). */
    static void assertBitwise(String what, float[] got, float[] want) {
        assertThat(got).as(what).isNotNull();
        assertThat(got.length).as(what + " length").isEqualTo(want.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
            }
        }
    }
}
