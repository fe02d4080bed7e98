package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.DirectMemory;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import dev.merv.core.train.LossNormalization;
import dev.merv.core.train.LrSchedule;
import dev.merv.core.train.LossSum;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.model.Precision;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.Trainer;
import dev.merv.core.train.TrainableModel;
import dev.merv.core.weights.WeightLoader;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.core.train.MervTrainable;
import dev.merv.llm.DecoderConfigs;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code train-steps-tiny} through the real trainer: the MERV model of {@code merv-forward-tiny} (four
 * encoders, projectors, fusion, Llama, all weights from the fixture), wrapped in {@link MervTrainable},
 * fed the fixture's per-step batches by a {@link BatchSource}, trained with the {@link TrainConfig} the
 * fixture's {@code config.json} describes (finetune stage, AdamW decay groups, lr 0 on the first step,
 * warmup + cosine over {@code num_training_steps}, clip, fp32 on CPU). Every step's loss, lr and pre-clip
 * gradient norm and every trainable tensor after the last step must match the reference. Run with the
 * plain forward, with per-layer recomputation (the adapter's layer-wise form), and with a garbage
 * collection forced between every forward and backward (nothing autograd saved may be Java-owned).
 */
class TrainStepsFixtureTest {

    private static final String LLM_PREFIX = "llm_backbone.llm.";

    /** How the forward runs: plain, with per-layer recomputation, or plain with a GC before every backward. */
    enum Mode { PLAIN, RECOMPUTE, GC_BEFORE_BACKWARD }

    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of("train-steps-tiny", Mode.PLAIN), Arguments.of("train-steps-tiny", Mode.RECOMPUTE),
                Arguments.of("train-steps-tiny", Mode.GC_BEFORE_BACKWARD));
    }

    /**
     * {@link MervTrainable} with a garbage collection (and freed small chunks overwritten) between each
     * forward and its backward: the regression for the sporadic first-step gradient blow-up of
     * {@code ./merv pretrain}, where a Java-backed scalar autograd had saved was freed by a collection
     * that happened to fall in that window ({@code Torch.mulScalar}).
     */
    static final class CollectingTrainable implements TrainableModel<MervMicroBatch> {
        private final TrainableModel<MervMicroBatch> inner;
        private List<ByteBuffer> poison = List.of();

        CollectingTrainable(TrainableModel<MervMicroBatch> inner) {
            this.inner = inner;
        }

        @Override
        public Map<String, Param> parameters() {
            return inner.parameters();
        }

        @Override
        public LossSum forward(MervMicroBatch batch) {
            LossSum out = inner.forward(batch);
            poison = DirectMemory.reclaimAndPoison();
            return out;
        }

        @Override
        public float[] mixingWeights() {
            return inner.mixingWeights();
        }
    }

    /** Records every micro-batch's token-mean loss, in the order the replica runs them. */
    static final class RecordingTrainable implements TrainableModel<MervMicroBatch> {
        private final MervTrainable inner;
        final List<Double> microLosses = new java.util.concurrent.CopyOnWriteArrayList<>();

        RecordingTrainable(MervTrainable inner) {
            this.inner = inner;
        }

        @Override
        public Map<String, Param> parameters() {
            return inner.parameters();
        }

        @Override
        public LossSum forward(MervMicroBatch batch) {
            return record(inner.forward(batch));
        }

        private LossSum record(LossSum out) {
            microLosses.add((double) out.summed().getFloat() / out.tokens());
            return out;
        }

        @Override
        public Layered<MervMicroBatch> layered() {
            Layered<MervMicroBatch> l = inner.layered();
            return l == null ? null : new Layered<>() {
                @Override
                public Prefix prefix(MervMicroBatch batch) {
                    return l.prefix(batch);
                }

                @Override
                public int numLayers() {
                    return l.numLayers();
                }

                @Override
                public NDArray layer(int index, NDArray hidden, dev.merv.core.model.LanguageModel.LayerContext ctx) {
                    return l.layer(index, hidden, ctx);
                }

                @Override
                public LossSum head(NDArray hidden, dev.merv.core.model.LanguageModel.LayerContext ctx, MervMicroBatch batch) {
                    return record(l.head(hidden, ctx, batch));
                }
            };
        }

        @Override
        public float[] mixingWeights() {
            return inner.mixingWeights();
        }
    }

    /** The whole MERV model of the fixture in {@code m}, every weight from {@code model.safetensors}, finetune stage. */
    static Merv build(Fixture f, NDManager m) {
        JsonObject cfg = f.config();
        ModelConfig mc = f.mervBaseConfig();
        int numEncoders = cfg.getAsJsonArray("video_backbone_ids").size();
        List<VideoEncoder> encoders = new ArrayList<>();
        for (int i = 0; i < numEncoders; i++) {
            FrozenVideoEncoder e = dev.merv.build.MervForwardFixtureTest.encoder(f, i);
            e.loadWeights(f.model(), "video_backbones." + i + ".featurizer.", m, ScalarType.FLOAT32);
            encoders.add(e);
        }
        LlamaConfig lc = DecoderConfigs.parse(cfg.getAsJsonObject("llm_backbone"), f.name() + "/config.json llm_backbone");
        LlamaModel llm = new LlamaModel(f.llmId(), lc, m);
        Merv merv = new Merv(mc, encoders, llm, m, new Merv.Options().initialize(false)
                .bosTokenLength(cfg.get("bos_token_length").getAsInt()));
        Map<String, Param> rest = new LinkedHashMap<>();
        merv.module().namedParameters().forEach((k, v) -> {
            if (!k.startsWith("video_backbones.")) {
                rest.put(k, v);
            }
        });
        WeightLoader.load(f.model(), WeightLoader.identity("", rest), m, ScalarType.FLOAT32, true,
                n -> n.startsWith("video_backbones.")
                        || n.startsWith(LLM_PREFIX) && llm.ignorable(n.substring(LLM_PREFIX.length())));
        merv.applyStage(Stage.parse(cfg.get("stage").getAsString()));
        return merv;
    }

    /**
     * Step {@code k} = {@code input.step{k}.*} with the shared {@code input.video_values_i}; micro-batch {@code j} of
     * a step is its rows {@code [j*b, (j+1)*b)}, {@code b} = {@code per_device_batch_size} (all rows when the fixture
     * has one micro-batch per step).
     */
    static final class FixtureSource implements BatchSource<MervMicroBatch> {
        private final Fixture f;
        private final int steps;
        private final int encoders;
        private final int accumulation;

        FixtureSource(Fixture f) {
            this.f = f;
            this.steps = f.config().get("steps").getAsInt();
            this.encoders = f.config().getAsJsonArray("video_backbone_ids").size();
            this.accumulation = f.config().get("grad_accumulation_steps").getAsInt();
        }

        @Override
        public long stepsPerEpoch(int epoch, BatchPlan plan) {
            return steps;
        }

        @Override
        public MervMicroBatch load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager) {
            assertThat(epoch).as("%s has one epoch of %d batches", f.name(), steps).isZero();
            assertThat(rank).isZero();
            assertThat(micro).isBetween(0, accumulation - 1);
            NDManager bm = manager.newSubManager();
            String p = "input.step" + stepInEpoch + ".";
            NDArray allIds = f.io(p + "input_ids", bm);
            int stepRows = (int) allIds.getShape().get(0);
            int b = stepRows / accumulation;
            String rows = micro * b + ":" + (micro + 1) * b;
            NDArray ids = allIds.get(rows).toType(DataType.INT64, false);
            NDArray mask = f.io(p + "attention_mask", bm).get(rows).toType(DataType.BOOLEAN, false);
            NDArray labels = f.io(p + "labels", bm).get(rows).toType(DataType.INT64, false);
            List<NDArray> pixels = new ArrayList<>();
            for (int i = 0; i < encoders; i++) {
                NDArray px = f.ioFloat("input.video_values_" + i, bm);
                assertThat(px.getShape().get(0)).as("%s: video_values_%d rows", f.name(), i).isEqualTo(stepRows);
                pixels.add(px.get(rows));
            }
            return new MervMicroBatch(new MervBatch(ids, mask, labels, pixels, IntStream.range(0, b).toArray(),
                    new boolean[b], dev.merv.core.train.CausalLmLoss.supervisedCount(labels), bm));
        }
    }

    /** The trainer settings the fixture's config.json describes. */
    static TrainConfig trainConfig(Fixture f, int stepRows, boolean recompute, Path runs) {
        JsonObject cfg = f.config();
        TrainConfig t = new TrainConfig();
        t.stage = Stage.parse(cfg.get("stage").getAsString());
        t.runRootDir = runs.toString();
        t.runId = f.name();
        t.learningRate = cfg.get("learning_rate").getAsDouble();
        t.weightDecay = cfg.get("weight_decay").getAsDouble();
        t.maxGradNorm = cfg.get("max_grad_norm").getAsDouble();
        t.warmupRatio = cfg.get("warmup_ratio").getAsDouble();
        t.beta1 = cfg.getAsJsonArray("betas").get(0).getAsDouble();
        t.beta2 = cfg.getAsJsonArray("betas").get(1).getAsDouble();
        t.eps = cfg.get("eps").getAsDouble();
        // the schedule spans num_training_steps; the fixture records only its first `steps`
        t.maxSteps = cfg.get("num_training_steps").getAsLong();
        t.stopAfterSteps = cfg.get("steps").getAsLong();
        t.firstStep = LrSchedule.FirstStep.ZERO_LR;
        int accumulation = cfg.get("grad_accumulation_steps").getAsInt();
        t.perDeviceBatchSize = stepRows / accumulation;
        t.globalBatchSize = stepRows;
        // the reference's loss / accumulation_steps: each micro-batch's token mean
        t.lossNormalization = LossNormalization.MEAN_OF_MEANS;
        t.precision = Precision.FP32;
        t.recompute = recompute;
        t.devices = Fixture.devicesFlag();
        t.console = false;
        t.saveCheckpointAfter = Long.MAX_VALUE;
        t.keepCheckpoints = 1;
        return t;
    }

    @ParameterizedTest(name = "[{0}] {1}")
    @MethodSource("cases")
    void stepsAndFinalWeightsMatchReference(String name, Mode mode, @TempDir Path runs) {
        boolean recompute = mode == Mode.RECOMPUTE;
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager()) {
            JsonObject cfg = f.config();
            int steps = cfg.get("steps").getAsInt();
            int rows = (int) f.io().info("input.step0.input_ids").shape()[0];
            int accumulation = cfg.get("grad_accumulation_steps").getAsInt();
            assertThat(rows % accumulation).as("%s: a step's rows split into %d micro-batches", name, accumulation).isZero();
            if (cfg.has("global_batch_size")) {
                assertThat(rows).as("%s: global_batch_size", name).isEqualTo(cfg.get("global_batch_size").getAsInt());
                assertThat(rows / accumulation).as("%s: per_device_batch_size", name)
                        .isEqualTo(cfg.get("per_device_batch_size").getAsInt());
            }
            TrainConfig tc = trainConfig(f, rows, recompute, runs);
            List<StepRecord> records;
            Map<String, NDArray> finals = new LinkedHashMap<>();
            List<RecordingTrainable> recorders = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (Trainer<MervMicroBatch> trainer = new Trainer<>(tc,
                    (rank, device, manager) -> {
                        RecordingTrainable t = new RecordingTrainable(new MervTrainable(build(f, manager)));
                        recorders.add(t);
                        return mode == Mode.GC_BEFORE_BACKWARD ? new CollectingTrainable(t) : t;
                    }, new FixtureSource(f), null)) {
                assertThat(trainer.schedule().warmupSteps()).as("%s: num_warmup_steps", name)
                        .isEqualTo(cfg.get("num_warmup_steps").getAsLong());
                assertThat(trainer.plan().accumulation()).isEqualTo(accumulation);
                records = trainer.run();
                try (var ng = Torch.noGrad()) {
                    trainer.model(0).parameters().forEach((k, p) -> {
                        NDArray c = Torch.copy(p.get(), ScalarType.FLOAT32);
                        c.attach(m);
                        finals.put(k, c);
                    });
                }
            }
            assertThat(records).as("%s: steps run", name).hasSize(steps);
            float[] loss = new float[steps];
            float[] lr = new float[steps];
            float[] norm = new float[steps];
            for (int k = 0; k < steps; k++) {
                StepRecord r = records.get(k);
                assertThat(r.updated()).as("%s: step %d updated", name, k).isTrue();
                loss[k] = (float) r.loss();
                lr[k] = (float) r.lr();
                norm[k] = (float) r.gradNorm();
            }
            System.out.printf("%s %s: loss %s lr %s |g| %s%n", name, mode, java.util.Arrays.toString(loss),
                    java.util.Arrays.toString(lr), java.util.Arrays.toString(norm));
            f.assertMatches("output.lr", m.create(lr));
            f.assertMatches("output.loss", m.create(loss));
            f.assertMatches("output.grad_norm", m.create(norm));
            assertThat(recorders).hasSize(1);
            List<Double> micro = recorders.get(0).microLosses;
            assertThat(micro).as("%s: micro-batches run", name).hasSize(steps * accumulation);
            if (f.metaList("outputs").contains("output.micro_loss")) {
                float[] ml = new float[micro.size()];
                for (int i = 0; i < ml.length; i++) {
                    ml[i] = micro.get(i).floatValue();
                }
                f.assertMatches("output.micro_loss", m.create(ml));
            }

            List<String> finalNames = f.ioNames("output.final.");
            assertThat(finalNames).as("%s: output.final.*", name).isNotEmpty();
            List<String> trainable = new ArrayList<>();
            finals.forEach((k, v) -> {
                if (tc.stage.trains(k)) {
                    trainable.add("output.final." + k);
                }
            });
            assertThat(finalNames).as("%s: the fixture's trained tensors are this stage's trainable ones", name)
                    .containsExactlyInAnyOrderElementsOf(trainable);
            for (String out : finalNames) {
                NDArray got = finals.get(out.substring("output.final.".length()));
                Fixture.Tolerance tol = finalTolerance(f, out);
                try (NDManager cm = m.newSubManager()) {
                    NDArray want = f.ioFloat(out, cm);
                    Compare.assertClose(name + ":" + out, got, want, tol.atol(), tol.rtol());
                    assertSlices(f, out, got, want);
                }
            }
            // frozen encoders are untouched
            try (NDManager cm = m.newSubManager()) {
                for (String n : f.model().names()) {
                    if (n.startsWith("video_backbones.") && finals.containsKey(n)) {
                        Compare.assertClose(name + ": frozen " + n, finals.get(n), f.model().load(n, cm, ScalarType.FLOAT32),
                                0, 0);
                    }
                }
            }
        }
    }

    /**
     * {@code meta.slice_tolerances[tensor]}: named {@code "q [a:b]"} ranges of a flat tensor with their own (tighter)
     * tolerance, e.g. the fusion's packed {@code in_proj_bias} whose key slice alone is rounding noise.
     */
    private static void assertSlices(Fixture f, String tensor, NDArray got, NDArray want) {
        JsonObject meta = f.meta();
        if (!meta.has("slice_tolerances") || !meta.getAsJsonObject("slice_tolerances").has(tensor)) {
            return;
        }
        JsonObject slices = meta.getAsJsonObject("slice_tolerances").getAsJsonObject(tensor);
        assertThat(slices.size()).as("%s: slices of %s", f.name(), tensor).isPositive();
        for (String key : slices.keySet()) {
            java.util.regex.Matcher r = java.util.regex.Pattern.compile("\\[(\\d+):(\\d+)\\]").matcher(key);
            assertThat(r.find()).as("%s: slice name %s", f.name(), key).isTrue();
            String range = r.group(1) + ":" + r.group(2);
            JsonObject t = slices.getAsJsonObject(key);
            Compare.assertClose(f.name() + ":" + tensor + " " + key, got.flatten().get(range), want.flatten().get(range),
                    t.get("atol").getAsDouble(), t.has("rtol") ? t.get("rtol").getAsDouble() : 0.0);
        }
    }

    /** {@code meta.tolerances[tensor]} when listed, else {@code atol_final} (rtol 0), else the fixture's atol. */
    private static Fixture.Tolerance finalTolerance(Fixture f, String tensor) {
        JsonObject meta = f.meta();
        if (meta.has("tolerances") && meta.getAsJsonObject("tolerances").has(tensor)) {
            return f.tolerance(tensor);
        }
        if (meta.has("atol_final")) {
            return new Fixture.Tolerance(meta.get("atol_final").getAsDouble(), 0.0);
        }
        return f.tolerance(tensor);
    }
}
