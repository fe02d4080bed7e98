package dev.merv.examples.train;

import dev.merv.core.train.MervMicroBatch;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.HubRef;
import dev.merv.core.config.ConfigCli;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.train.LossNormalization;
import dev.merv.core.train.Precision;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.Trainer;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.data.batch.Collator;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.LoaderFactory;
import dev.merv.data.check.SkipLog;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.examples.build.BackboneWeights;
import dev.merv.examples.build.ModelFactory;
import dev.merv.llm.LlmRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference's {@code pretrain_video.py} on the JVM: the training guide's command lines as they are
 * (reference flag names, bracket lists), plus merv's own flags for where weights are
 * ({@code --weights_root DIR}, {@code --weights.<backbone id> DIR}) and how to run
 * ({@code --precision bf16|fp32}, {@code --recompute true|false}, {@code --loader_threads N},
 * {@code --stop_after_steps N}). The whole configuration is validated before any weights load.
 */
public final class Pretrain {

    /** Flags handled here rather than by the reference-compatible config parser. */
    static final Set<String> OWN = Set.of("weights_root", "precision", "recompute", "loader_threads", "stop_after_steps",
            "lengths");

    /** The parsed command line. */
    public record Invocation(PretrainConfig config, BackboneWeights weights, Precision precision, boolean recompute,
            int loaderThreads, long stopAfterSteps, LoaderFactory.Lengths lengths) {}

    /** The pretrain configuration dump in a run directory (the trainer's own {@code config.json} sits beside it). */
    public static final String RUN_CONFIG = "pretrain-config.json";

    private Pretrain() {}

    /** Parses (and validates) a pretrain command line without touching any weights or data. */
    public static Invocation parse(String... argv) {
        List<String> rest = new ArrayList<>();
        Map<String, String> own = new LinkedHashMap<>();
        Map<String, Path> perBackbone = new LinkedHashMap<>();
        List<ConfigCli.Flag> flags = ConfigCli.flags(argv);
        for (ConfigCli.Flag f : flags) {
            if (f.name().startsWith("weights.")) {
                perBackbone.put(f.name().substring("weights.".length()), Path.of(f.value()));
            } else if (OWN.contains(f.name())) {
                own.put(f.name(), f.value());
            } else {
                rest.add("--" + f.name());
                rest.add(f.value());
            }
        }
        PretrainConfig cfg = ConfigCli.parse(rest.toArray(String[]::new));
        ModelConfig m = cfg.model();
        Precision precision = own.containsKey("precision")
                ? Precision.valueOf(ScalarType.parse(own.get("precision")) == ScalarType.BFLOAT16 ? "BF16" : "FP32")
                : m.enableMixedPrecisionTraining() ? Precision.BF16 : Precision.FP32;
        boolean recompute = own.containsKey("recompute") ? Boolean.parseBoolean(own.get("recompute"))
                : m.enableGradientCheckpointing();
        int threads = Integer.parseInt(own.getOrDefault("loader_threads", "2"));
        long stopAfter = Long.parseLong(own.getOrDefault("stop_after_steps", "0"));
        LoaderFactory.Lengths lengths = LoaderFactory.Lengths.valueOf(own.getOrDefault("lengths", "tokens")
                .toUpperCase(java.util.Locale.ROOT));
        Path root = own.containsKey("weights_root") ? Path.of(own.get("weights_root")) : null;
        // the flag splitter reads dashes in names as underscores (draccus style), but backbone ids are dashed:
        // match --weights.<id> against the model's ids under the same normalisation
        List<String> ids = new ArrayList<>(m.videoBackboneIds());
        ids.add(m.llmBackboneId());
        Map<String, Path> explicit = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : perBackbone.entrySet()) {
            String id = ids.stream().filter(x -> x.replace('-', '_').equals(e.getKey())).findFirst().orElseThrow(() ->
                    new IllegalArgumentException("--weights." + e.getKey().replace('_', '-') + " names no backbone of this"
                            + " model (encoders " + m.videoBackboneIds() + ", llm " + m.llmBackboneId() + ")"));
            explicit.put(id, e.getValue());
        }
        return new Invocation(cfg, new BackboneWeights(root, explicit), precision, recompute, threads, stopAfter, lengths);
    }

    /** The trainer's settings for an invocation. */
    static TrainConfig trainConfig(Invocation inv) {
        PretrainConfig pc = inv.config();
        dev.merv.core.config.StageHyperparameters stage = pc.train();
        TrainConfig t = new TrainConfig();
        t.stage = pc.stage();
        // Merv.applyStage freezes per stage and also the fusion's dead parameters (W8), which the
        // trainer's name-based freezing would switch back on (and give optimizer state)
        t.applyStageFreezing = false;
        t.runId = pc.resolvedRunId();
        t.runRootDir = pc.runRootDir().toString();
        t.datasetId = pc.dataset().datasetId();
        t.modelId = pc.model().modelId();
        t.seed = pc.seed();
        t.globalBatchSize = stage.globalBatchSize();
        t.perDeviceBatchSize = stage.perDeviceBatchSize();
        t.epochs = stage.epochs();
        t.maxSteps = stage.maxSteps() == null ? 0 : stage.maxSteps();
        t.stopAfterSteps = inv.stopAfterSteps();
        t.learningRate = stage.learningRate();
        t.weightDecay = stage.weightDecay();
        t.maxGradNorm = stage.maxGradNorm();
        t.warmupRatio = stage.warmupRatio();
        t.lossNormalization = pc.tokenWeightedLoss() ? LossNormalization.TOKENS : LossNormalization.MEAN_OF_MEANS;
        t.precision = inv.precision();
        t.recompute = inv.recompute();
        t.devices = pc.devices();
        t.saveCheckpointAfter = pc.saveCheckpointAfter();
        t.keepCheckpoints = pc.keepCheckpoints();
        t.resume = pc.resume();
        t.resumeFromCheckpoint = pc.resumeFromCheckpoint() == null ? null : pc.resumeFromCheckpoint().toString();
        return t;
    }

    /** Runs training; returns the per-step records. */
    public static List<StepRecord> run(Invocation inv) throws IOException {
        return run(inv, null, null);
    }

    /**
     * Runs training, handing the rank-0 model to {@code beforeTraining} once it is built and to
     * {@code afterTraining} once the last step is done (both may be null), e.g. to evaluate it.
     */
    public static List<StepRecord> run(Invocation inv, java.util.function.Consumer<Merv> beforeTraining,
            java.util.function.Consumer<Merv> afterTraining) throws IOException {
        PretrainConfig pc = inv.config();
        ModelConfig m = pc.model();
        TrainConfig tc = trainConfig(inv);
        tc.validate();
        // everything that can be checked without weights is checked before the first tensor is read
        for (String id : m.videoBackboneIds()) {
            inv.weights().resolve(id, hubRepo(EncoderRegistry.get(id).hub()));
        }
        Path llmWeights = inv.weights().resolve(m.llmBackboneId(), hubRepo(LlmRegistry.spec(m.llmBackboneId()).hub()));
        LlmRegistry.tokenizerDir(m.llmBackboneId(), null, llmWeights);
        List<Path> comps = pc.dataset().components(pc.stage());
        Path json = pc.dataset().datasetRootDir().resolve(comps.get(0));
        Path media = pc.dataset().datasetRootDir().resolve(comps.get(1));
        if (!Files.exists(json)) {
            throw new IllegalArgumentException("dataset file " + json + " does not exist (--dataset.dataset_root_dir "
                    + pc.dataset().datasetRootDir() + "; see docs/data.md)");
        }
        dev.merv.data.videollava.Stage dataStage = dev.merv.data.videollava.Stage.parse(pc.stage().flag());
        List<EncoderInput> inputs = encoderInputs(m, inv.weights());
        String llmId = m.llmBackboneId();
        Path llmDir = inv.weights().resolve(llmId, hubRepo(LlmRegistry.spec(llmId).hub()));
        var text = LlmRegistry.text(llmId, LlmRegistry.tokenizerDir(llmId, null, llmDir), LlmRegistry.Options.PARITY);
        SkipLog skips = new SkipLog();
        LoaderFactory.Config loader = new LoaderFactory.Config(pc.seed(), tc.globalBatchSize, 1, 0, tc.perDeviceBatchSize,
                inv.loaderThreads(), 2, m.llmMaxLength(), inv.lengths(), m.visualFeatureLength(), 0,
                Collator.MaskMode.LENGTHS, true, VideoDecoder.Options.defaults(), Set.of());
        JsonObject modelJson = com.google.gson.JsonParser.parseString(ConfigJson.dump(pc)).getAsJsonObject();
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(new DatasetRegistry.DatasetFiles(json, media, dataStage));
                MervBatchSource source = new MervBatchSource(ds, text, inputs, loader, skips);
                Trainer<MervMicroBatch> trainer = new Trainer<>(tc, (rank, device, manager) -> {
                    Merv merv = ModelFactory.build(m, inv.weights(), new ModelFactory.Precision(
                            inv.precision() == Precision.BF16 ? ScalarType.BFLOAT16 : ScalarType.FLOAT32, ScalarType.FLOAT32),
                            manager, pc.seed(), new Merv.Options());
                    merv.applyStage(pc.stage());
                    return new MervTrainable(merv);
                }, source, modelJson)) {
            // the full parsed configuration, as the reference's config.json, for generate / eval-mcq / --config
            Files.createDirectories(trainer.runDir());
            ConfigJson.write(pc, trainer.runDir().resolve(RUN_CONFIG));
            if (beforeTraining != null) {
                beforeTraining.accept(((MervTrainable) trainer.model(0)).merv());
            }
            List<StepRecord> records = trainer.run();
            if (afterTraining != null) {
                afterTraining.accept(((MervTrainable) trainer.model(0)).merv());
            }
            Path report = trainer.runDir().resolve("skipped.json");
            JsonObject o = new JsonObject();
            o.addProperty("json", json.toString());
            o.addProperty("skipped", skips.size());
            o.add("entries", skips.toJson());
            Files.writeString(report, o.toString(), StandardCharsets.UTF_8);
            if (skips.size() > 0) {
                System.err.println("pretrain: " + skips.size() + " samples skipped (bad or missing media); see " + report);
            }
            return records;
        }
    }

    /** What the data path needs of each encoder (frames, transform), without loading any weights. */
    static List<EncoderInput> encoderInputs(ModelConfig m, BackboneWeights weights) {
        List<EncoderInput> inputs = new ArrayList<>();
        for (int i = 0; i < m.videoBackboneIds().size(); i++) {
            String id = m.videoBackboneIds().get(i);
            Path dir = weights.resolve(id, hubRepo(EncoderRegistry.get(id).hub()));
            JsonObject json = Files.exists(dir.resolve("config.json")) ? ModelDirectory.readConfig(dir) : null;
            FrozenVideoEncoder enc = EncoderRegistry.create(id, json, EncoderRegistry.Options.defaults()
                    .withFrames(m.numFrames().get(i)));
            inputs.add(EncoderInput.of(enc));
        }
        return inputs;
    }

    /** The checkpoint's repo id, or null for a backbone that only exists locally (merv-tiny's). */
    static String hubRepo(HubRef hub) {
        return hub == null ? null : hub.repo();
    }
}
