package dev.merv.train;

import dev.merv.core.io.AtomicFiles;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.build.MervModels;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.train.Devices;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.config.StageHyperparameters;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.config.Resume;
import dev.merv.core.train.BatchSource;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.train.LossNormalization;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.train.MervTrainable;
import dev.merv.core.train.RunStart;
import dev.merv.core.train.StageHandOff;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.Trainer;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.MervBatchSource;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.cache.FeatureKeys;
import dev.merv.data.cache.FileHashes;
import dev.merv.data.check.SkipLog;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.lora.PeftAdapters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Training MERV from Java: the typed entry point over the {@link Trainer}, and what {@code ./merv pretrain}
 * runs (the command only parses flags into a {@link Builder}).
 *
 * <pre>{@code
 * TrainingResult r = Training.builder("merv-tiny")
 *         .weights(BackboneWeights.root(weightsDir))
 *         .datasetRoot(dataDir)                 // Video-LLaVA layout under data/download/videollava/
 *         .maxSteps(20).learningRate(3e-3)
 *         .runRoot(runsDir).runId("tiny")
 *         .onStep(s -> System.out.println(s.step() + " " + s.loss()))
 *         .build()
 *         .run();
 * }</pre>
 *
 * <p>The configuration is the reference's ({@link PretrainConfig}: model preset, stage, per-stage
 * hyper-parameters, run id, seed ...) plus merv's run options (where weights are, precision, recomputation,
 * devices, loader threads). {@link Builder#build} validates the configuration; {@link #preflight} (the first
 * thing {@link #run} does) finds every backbone's weights, the dataset file and, for a stage that takes
 * over weights from an earlier run ({@link StageHandOff}), that run: all before any tensor is read.
 *
 * <p>A run directory holds {@code config.json} (the full configuration, the reference's format: it can be
 * passed back with {@code --config}), {@code weights.json} (where each backbone was read from, so inference
 * finds them again), {@code train-config.json}, {@code metrics.jsonl}, {@code skipped.json} and
 * {@code checkpoints/}.
 */
public final class Training {

    /** The run directory file recording where each backbone's weights were read from. */
    public static final String WEIGHTS_FILE = "weights.json";

    private final PretrainConfig config;
    private final BackboneWeights weights;
    private final Precision precision;
    private final boolean recompute;
    private final int loaderThreads;
    private final long stopAfterSteps;
    private final int checkpointFailures;
    private final MervBatchSource.Lengths lengths;
    private final boolean console;
    private final List<String> handOffModules;
    private final BatchSource<MervMicroBatch> customSource;
    private final List<Consumer<StepRecord>> stepListeners;
    private final List<Consumer<Merv>> beforeTraining;
    private final List<Consumer<Merv>> afterTraining;
    private final Path featureCacheDir;
    private final FeatureCache.Options featureCacheOptions;
    private final LoraConfig lora;
    private StageHandOff.Plan handOff;

    private Training(Builder b) {
        this.config = b.config;
        this.weights = b.weights;
        this.precision = b.precision != null ? b.precision
                : b.config.model().enableMixedPrecisionTraining() ? Precision.BF16 : Precision.FP32;
        this.recompute = b.recompute != null ? b.recompute : b.config.model().enableGradientCheckpointing();
        this.loaderThreads = b.loaderThreads;
        this.stopAfterSteps = b.stopAfterSteps;
        this.checkpointFailures = b.checkpointFailures;
        this.lengths = b.lengths;
        this.console = b.console;
        this.handOffModules = b.handOffModules;
        this.customSource = b.source;
        this.stepListeners = List.copyOf(b.stepListeners);
        this.beforeTraining = List.copyOf(b.beforeTraining);
        this.afterTraining = List.copyOf(b.afterTraining);
        this.featureCacheDir = b.featureCacheDir;
        this.featureCacheOptions = b.featureCacheOptions;
        this.lora = b.lora;
        // everything that can be checked without reading a tensor is checked here
        ConfigValidator.validate(config);
        if (lora != null && !config.stage().trainsLlm()) {
            throw new ConfigException("--lora.* trains adapters on the LLM, but stage " + config.stage() + " keeps the LLM"
                    + " frozen (only projectors and fusion train); use LoRA in a stage that trains the LLM (finetune)");
        }
        if (precision == Precision.FP16) {
            throw new IllegalArgumentException("precision fp16 is not supported for training (no loss scaling); use bf16"
                    + " or fp32");
        }
        trainConfig().validate();
        checkStrategy(config);
    }

    /**
     * {@code fsdp-full-shard} (ZeRO-3) also shards each replica's compute weights and gathers them layer by layer;
     * merv shards optimizer state and gradients only ({@code fsdp-shard-grad-op}, ZeRO-2) and keeps the compute
     * weights whole on every replica. The update is the same; what differs is memory per device. With one replica
     * there is nothing to shard and the two are the same run; with several, the strategy is refused here, before
     * any weight is read, rather than run as the other one.
     */
    static void checkStrategy(PretrainConfig config) {
        if (config.stage() == Stage.FULL_FINETUNE || !"fsdp-full-shard".equals(config.train().trainStrategy())) {
            return;
        }
        int replicas;
        try {
            replicas = Devices.parse(config.devices()).size();
        } catch (IllegalArgumentException e) {
            return; // the trainer names a bad --devices value itself
        }
        if (replicas > 1) {
            String field = "model." + (config.stage().isAlign() ? "align" : "finetune") + "_train_strategy";
            throw new ConfigException(field + "='fsdp-full-shard' on " + replicas + " replicas: merv does not shard the"
                    + " compute weights (ZeRO-3); it shards optimizer state and gradients and keeps each replica's compute"
                    + " weights whole, which is fsdp-shard-grad-op (the same update, 2 bytes per parameter more per device"
                    + " in bf16). Set --" + field + " fsdp-shard-grad-op, or train on one device");
        }
    }

    /**
     * Finds every backbone's weights, the dataset file and, for a stage that takes over weights, its starting
     * checkpoint, reading no tensor; fails naming what is missing. {@link #run} does this first.
     */
    public Training preflight() {
        MervModels.checkWeights(config.model(), weights);
        if (customSource == null) {
            Path json = datasetJson();
            if (!Files.exists(json)) {
                throw new IllegalArgumentException("dataset file " + json + " does not exist (dataset_root_dir "
                        + config.dataset().datasetRootDir() + "; see docs/data.md)");
            }
        }
        // a resumed run takes nothing over; --resume auto resumes when the run has a checkpoint (run() decides
        // for good once the run directory is locked and the checkpoints are verified)
        boolean resuming = config.resumeFromCheckpoint() != null || config.resume() == Resume.REQUIRED
                || (config.resume() == Resume.AUTO && !Checkpoints.list(config.runDir().resolve("checkpoints")).isEmpty());
        if (resuming) {
            checkResumedAdapters();
        }
        handOff = handOff(resuming);
        return this;
    }

    private StageHandOff.Plan handOff(boolean resuming) {
        return resuming ? StageHandOff.Plan.NONE
                : StageHandOff.resolve(config.stage(), ArchSpecifier.parse(config.model().archSpecifier()),
                        config.pretrainedCheckpoint(), config.runDir(), handOffModules);
    }

    /**
     * A resumed run must have the adapters its checkpoint was trained with: a checkpoint of a LoRA run holds
     * {@code adapter_config.json}, a full finetune's none. Compared before any tensor is read.
     */
    private void checkResumedAdapters() {
        Path ckpt = config.resumeFromCheckpoint();
        if (ckpt == null) {
            if (!Files.exists(runDir().resolve("checkpoints").resolve("latest"))) {
                return; // the trainer reports the missing checkpoint
            }
            ckpt = dev.merv.core.train.Checkpoints.latest(runDir());
        }
        if (!Files.isDirectory(ckpt)) {
            return;
        }
        boolean has = PeftAdapters.present(ckpt);
        if (lora == null && has) {
            throw new ConfigException("resume from " + ckpt + ": it was trained with " + PeftAdapters.readConfig(ckpt)
                    + "; give the same --lora.* flags");
        }
        if (lora != null && !has) {
            throw new ConfigException("resume from " + ckpt + ": it was trained without LoRA (no "
                    + PeftAdapters.CONFIG + "), this run has " + lora);
        }
        if (lora != null) {
            LoraConfig was = PeftAdapters.readConfig(ckpt);
            boolean same = was.r() == lora.r() && was.alpha() == lora.alpha() && was.dropout() == lora.dropout()
                    && was.rslora() == lora.rslora() && new java.util.HashSet<>(was.targets()).equals(
                            new java.util.HashSet<>(lora.targets()));
            if (!same) {
                throw new ConfigException("resume from " + ckpt + ": it was trained with " + was + ", this run has " + lora);
            }
        }
    }

    /** A run of the registered model {@code modelType} ({@code merv-base}, {@code merv-tiny}, ...) with the reference defaults. */
    public static Builder builder(String modelType) {
        return new Builder(PretrainConfig.defaults(ModelRegistry.get(modelType),
                dev.merv.core.config.DatasetConfig.videollava()));
    }

    /** A run of a model configuration you built (e.g. {@code MervBuilder.custom(...).config()}). */
    public static Builder builder(ModelConfig model) {
        return new Builder(PretrainConfig.defaults(model, dev.merv.core.config.DatasetConfig.videollava()));
    }

    /** A run of a whole configuration, e.g. parsed from the reference's flags or read from a run's {@code config.json}. */
    public static Builder builder(PretrainConfig config) {
        return new Builder(config);
    }

    /** The validated configuration. */
    public PretrainConfig config() {
        return config;
    }

    public BackboneWeights weights() {
        return weights;
    }

    public Precision precision() {
        return precision;
    }

    public boolean recompute() {
        return recompute;
    }

    /** The LoRA adapters this run trains on the LLM, or null for a full finetune. */
    public LoraConfig lora() {
        return lora;
    }

    public int loaderThreads() {
        return loaderThreads;
    }

    public long stopAfterSteps() {
        return stopAfterSteps;
    }

    public MervBatchSource.Lengths lengths() {
        return lengths;
    }

    /** {@code {run_root_dir}/{run_id}}. */
    public Path runDir() {
        return config.runDir();
    }

    /** What this run takes over from an earlier one (nothing for single-stage recipes and resumed runs). */
    public StageHandOff.Plan handOff() {
        if (handOff == null) {
            preflight();
        }
        return handOff;
    }

    /** The Video-LLaVA annotation file of this stage. */
    public Path datasetJson() {
        return config.dataset().datasetRootDir().resolve(config.dataset().components(config.stage()).get(0));
    }

    /** The trainer's settings for this run. */
    public TrainConfig trainConfig() {
        StageHyperparameters stage = config.train();
        TrainConfig t = new TrainConfig();
        t.stage = config.stage();
        t.runId = config.resolvedRunId();
        t.runRootDir = config.runRootDir().toString();
        t.datasetId = config.dataset().datasetId();
        t.modelId = config.model().modelId();
        t.seed = config.seed();
        t.globalBatchSize = stage.globalBatchSize();
        t.perDeviceBatchSize = stage.perDeviceBatchSize();
        t.epochs = stage.epochs();
        t.maxSteps = stage.maxSteps() == null ? 0 : stage.maxSteps();
        t.stopAfterSteps = stopAfterSteps;
        t.learningRate = stage.learningRate();
        t.weightDecay = stage.weightDecay();
        t.maxGradNorm = stage.maxGradNorm();
        t.warmupRatio = stage.warmupRatio();
        t.lossNormalization = config.tokenWeightedLoss() ? LossNormalization.TOKENS : LossNormalization.MEAN_OF_MEANS;
        t.precision = precision;
        t.reduceInFullPrecision = config.model().reduceInFullPrecision();
        t.recompute = recompute;
        t.devices = config.devices();
        t.saveCheckpointAfter = config.saveCheckpointAfter();
        t.keepCheckpoints = config.keepCheckpoints();
        t.resume = config.resume();
        t.checkpointFailures = checkpointFailures;
        t.resumeFromCheckpoint = config.resumeFromCheckpoint() == null ? null : config.resumeFromCheckpoint().toString();
        t.console = console;
        return t;
    }

    /** What the data path needs of each encoder (frames, transform), without loading any weights. */
    public List<EncoderInput> encoderInputs() {
        List<EncoderInput> out = new ArrayList<>();
        for (FrozenVideoEncoder e : MervModels.encoderShapes(config.model(), weights)) {
            out.add(EncoderInput.of(e));
        }
        return out;
    }

    /** The frozen-feature cache directory, null without one. */
    public Path featureCacheDir() {
        return featureCacheDir;
    }

    /**
     * The cache keys of this run's encoders (reads each encoder's checkpoint files once to hash them).
     *
     * @param hashes remembers file hashes (the cache keeps them beside its shards)
     */
    public FeatureKeys featureKeys(FileHashes hashes, boolean training) {
        return FeatureKeys.forModel(config.model(), weights, precision, training, hashes);
    }

    /**
     * Trains; returns the step records, the run directory and the last checkpoint. The run directory is locked
     * for this process first ({@link RunStart}: a second process on it is refused before anything loads), then
     * the checkpoint to resume from is chosen and verified.
     */
    public TrainingResult run() throws IOException {
        preflight();
        ModelConfig m = config.model();
        TrainConfig tc = trainConfig();
        RunStart start = RunStart.open(tc, System.err);
        try {
            handOff = handOff(start.resumes());
        } catch (RuntimeException e) {
            start.close();
            throw e;
        }
        SkipLog skips = new SkipLog();
        String runConfig = ConfigJson.dump(config) + "\n";
        VideoLlavaDataset ds = null;
        BatchSource<MervMicroBatch> source = customSource;
        MervBatchSource owned = null;
        FeatureCache cache = null;
        FileHashes hashes = null;
        try {
            CacheLookup lookup = null;
            if (featureCacheDir != null && customSource == null) {
                hashes = new FileHashes(featureCacheDir.resolve("file-hashes.json"));
                FeatureKeys keys = featureKeys(hashes, true);
                if (console) {
                    keys.notCached().forEach(msg -> System.err.println("feature cache: " + msg));
                }
                cache = FeatureCache.open(featureCacheDir, featureCacheOptions);
                lookup = new CacheLookup(cache, keys, hashes, true);
            } else if (featureCacheDir != null && console) {
                System.err.println("feature cache: not used with a custom batch source");
            }
            if (source == null) {
                String llmId = m.llmBackboneId();
                var text = LlmRegistry.text(llmId, MervModels.tokenizerDir(llmId, weights), LlmRegistry.Options.PARITY);
                ds = VideoLlavaDataset.open(new DatasetRegistry.DatasetFiles(datasetJson(),
                        config.dataset().datasetRootDir().resolve(config.dataset().components(config.stage()).get(1)),
                        config.stage()));
                MervBatchSource.Options loader = MervBatchSource.Options.defaults(config.seed(), m.llmMaxLength(),
                        m.visualFeatureLength()).withThreads(loaderThreads).withLengths(lengths)
                        .withPixelDtype(precision.compute()); // the encoders' dtype: exact, half the bytes in bf16
                owned = new MervBatchSource(ds, text, encoderInputs(), loader, skips, lookup);
                source = owned;
            }
            try (Trainer<MervMicroBatch> trainer = new Trainer<>(tc, start, (rank, device, manager) -> {
                Merv merv = MervModels.build(m, weights, precision, MervModels.Purpose.TRAINING, manager, config.seed(),
                        new Merv.Options(), lora);
                merv.applyStage(config.stage());
                StageHandOff.load(merv, handOff, manager);
                return new MervTrainable(merv);
            }, source, runConfig)) {
                writeRunFiles(trainer.runDir());
                if (lora != null) {
                    trainer.addCheckpointFiles(PeftAdapters.checkpointFiles(lora, baseModelName(), LLM_PREFIX));
                }
                if (handOff.loadsSomething() && console) {
                    System.out.println("stage " + config.stage() + ": " + handOff.modules() + " loaded from "
                            + handOff.checkpoint());
                }
                trainer.onStep(r -> stepListeners.forEach(l -> l.accept(r)));
                Merv rank0 = ((MervTrainable) trainer.model(0)).merv();
                beforeTraining.forEach(l -> l.accept(rank0));
                List<StepRecord> records = trainer.run();
                afterTraining.forEach(l -> l.accept(rank0));
                writeSkips(trainer.runDir(), skips);
                boolean any = !Checkpoints.list(trainer.runDir().resolve("checkpoints")).isEmpty();
                FeatureCache.Stats stats = null;
                if (cache != null) {
                    cache.flush();
                    stats = cache.stats();
                    if (console) {
                        System.out.printf(java.util.Locale.ROOT, "feature cache %s: %d of %d look-ups hit, %d entries stored,"
                                + " %.1f MB on disk%n", featureCacheDir, lookup.hits(), lookup.lookups(), stats.stored(),
                                stats.bytesOnDisk() / 1e6);
                    }
                }
                return new TrainingResult(records, trainer.runDir(), any ? Checkpoints.latest(trainer.runDir()) : null, skips,
                        owned == null ? -1 : owned.decodes(), stats);
            }
        } finally {
            start.close();
            if (owned != null) {
                owned.close();
            }
            if (cache != null) {
                cache.close();
            }
            if (hashes != null) {
                hashes.save();
            }
            if (ds != null) {
                ds.close();
            }
        }
    }

    /** Where the LLM's parameters sit in a MERV checkpoint. */
    static final String LLM_PREFIX = "llm_backbone.llm.";

    /** {@code base_model_name_or_path} of the run's adapters: the LLM's hub repo, else its checkpoint directory. */
    private String baseModelName() {
        String id = config.model().llmBackboneId();
        var hub = LlmRegistry.spec(id).hub();
        return hub != null ? hub.repo() : MervModels.llmDir(id, weights).toAbsolutePath().toString();
    }

    private void writeRunFiles(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        JsonObject w = new JsonObject();
        for (String id : config.model().videoBackboneIds()) {
            w.addProperty(id, MervModels.encoderDir(id, weights).toAbsolutePath().toString());
        }
        String llm = config.model().llmBackboneId();
        w.addProperty(llm, MervModels.llmDir(llm, weights).toAbsolutePath().toString());
        AtomicFiles.writeString(runDir.resolve(WEIGHTS_FILE), new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(w));
    }

    private void writeSkips(Path runDir, SkipLog skips) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("json", customSource == null ? datasetJson().toString() : "(custom batch source)");
        o.addProperty("skipped", skips.size());
        o.add("entries", skips.toJson());
        Path report = runDir.resolve("skipped.json");
        AtomicFiles.writeString(report, o.toString());
        if (skips.size() > 0 && console) {
            System.err.println("training: " + skips.size() + " samples skipped (bad or missing media); see " + report);
        }
    }


    /** The backbone weights a run directory recorded ({@code weights.json}), or null when it has none. */
    public static BackboneWeights recordedWeights(Path runDir) {
        Path f = runDir.resolve(WEIGHTS_FILE);
        if (!Files.exists(f)) {
            return null;
        }
        try {
            JsonObject o = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
            Map<String, Path> m = new java.util.LinkedHashMap<>();
            o.entrySet().forEach(e -> m.put(e.getKey(), Path.of(e.getValue().getAsString())));
            return new BackboneWeights(null, m);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(f + ": cannot read the recorded weight locations: " + e.getMessage(), e);
        }
    }

    /**
     * Builds a {@link Training}. Setters that name a reference field change the {@link PretrainConfig}
     * (stage hyper-parameters go to the {@code align_*} or {@code finetune_*} field of the stage in force
     * when {@link #build} runs); the others are merv's run options.
     */
    public static final class Builder {
        private PretrainConfig config;
        private BackboneWeights weights = BackboneWeights.hfCache();
        private Precision precision;
        private Boolean recompute;
        private int loaderThreads = 2;
        private long stopAfterSteps;
        private int checkpointFailures;
        private MervBatchSource.Lengths lengths = MervBatchSource.Lengths.TOKENS;
        private boolean console = true;
        private List<String> handOffModules;
        private BatchSource<MervMicroBatch> source;
        private final List<Consumer<StepRecord>> stepListeners = new ArrayList<>();
        private final List<Consumer<Merv>> beforeTraining = new ArrayList<>();
        private final List<Consumer<Merv>> afterTraining = new ArrayList<>();
        private final List<String[]> stageFields = new ArrayList<>();
        private Path featureCacheDir;
        private FeatureCache.Options featureCacheOptions = FeatureCache.Options.defaults();
        private LoraConfig lora;

        private Builder(PretrainConfig config) {
            this.config = config;
        }

        /** Sets one reference field by its flag name, e.g. {@code set("seed", "8")}, {@code set("model.num_frames", "[8]")}. */
        public Builder set(String flag, String value) {
            if (flag.startsWith("model.")) {
                config = config.withModel(config.model().with(flag.substring("model.".length()), value));
            } else if (flag.startsWith("dataset.")) {
                config = config.withDataset(config.dataset().with(flag.substring("dataset.".length()), value));
            } else {
                config = config.with(flag, value);
            }
            return this;
        }

        /** Sets a field of the model configuration ({@code model.<field>}). */
        public Builder model(String field, Object value) {
            return set("model." + field, String.valueOf(value));
        }

        public Builder stage(Stage stage) {
            return set("stage", stage.flag());
        }

        /** The dataset root ({@code dataset_root_dir}): annotation files and media under {@code download/videollava/}. */
        public Builder datasetRoot(Path root) {
            return set("dataset.dataset_root_dir", root.toString());
        }

        public Builder runRoot(Path root) {
            return set("run_root_dir", root.toString());
        }

        public Builder runId(String id) {
            return set("run_id", id);
        }

        public Builder seed(int seed) {
            return set("seed", Integer.toString(seed));
        }

        public Builder devices(String devices) {
            return set("devices", devices);
        }

        /** Checkpoint every {@code steps} optimizer steps (and at the end). */
        public Builder saveEvery(int steps) {
            return set("save_checkpoint_after", Integer.toString(steps));
        }

        public Builder keepCheckpoints(int n) {
            return set("keep_checkpoints", Integer.toString(n));
        }

        /** {@code --resume true|false}: continue from the run directory's newest intact checkpoint (which must exist). */
        public Builder resume(boolean on) {
            return resume(Resume.of(on));
        }

        /**
         * {@code --resume}: {@link Resume#AUTO} continues from the newest intact checkpoint if there is one and
         * starts fresh otherwise (one command line for a job's first start and its restarts).
         */
        public Builder resume(Resume mode) {
            return set("resume", mode.flag());
        }

        /**
         * {@code --checkpoint_failures N}: keep training through up to N scheduled checkpoints in a row that
         * cannot be written (a full disk), retrying at the next interval; 0 (default) stops at the first.
         */
        public Builder checkpointFailures(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("checkpoint_failures " + n + " must be >= 0");
            }
            this.checkpointFailures = n;
            return this;
        }

        public Builder resumeFrom(Path checkpoint) {
            return set("resume_from_checkpoint", checkpoint.toString());
        }

        /** Where a stage that takes over weights reads them (the reference's {@code --pretrained_checkpoint}). */
        public Builder pretrainedCheckpoint(Path checkpoint) {
            return set("pretrained_checkpoint", checkpoint.toString());
        }

        /**
         * The modules a stage takes over from its starting checkpoint, instead of the reference's rule
         * (W9: a two-stage finetune keeps only the projectors); e.g. {@code List.of("projectors", "feature_fusion")}.
         */
        public Builder handOffModules(List<String> modules) {
            this.handOffModules = List.copyOf(modules);
            return this;
        }

        /** Weight micro-batches by supervised tokens (default, W11 fix) or average per-micro-batch means (parity). */
        public Builder tokenWeightedLoss(boolean on) {
            return set("token_weighted_loss", Boolean.toString(on));
        }

        public Builder maxSteps(int steps) {
            return stageField("max_steps", Integer.toString(steps));
        }

        public Builder epochs(int epochs) {
            return stageField("epochs", Integer.toString(epochs));
        }

        public Builder learningRate(double lr) {
            return stageField("learning_rate", Double.toString(lr));
        }

        public Builder warmupRatio(double ratio) {
            return stageField("warmup_ratio", Double.toString(ratio));
        }

        public Builder weightDecay(double wd) {
            return stageField("weight_decay", Double.toString(wd));
        }

        public Builder globalBatchSize(int n) {
            return stageField("global_batch_size", Integer.toString(n));
        }

        public Builder perDeviceBatchSize(int n) {
            return stageField("per_device_batch_size", Integer.toString(n));
        }

        private Builder stageField(String field, String value) {
            stageFields.add(new String[] {field, value});
            return this;
        }

        /** Where each backbone's weights are (default: the HF cache). */
        public Builder weights(BackboneWeights w) {
            this.weights = w;
            return this;
        }

        public Builder precision(Precision p) {
            this.precision = p;
            return this;
        }

        /** Activation recomputation per LLM layer (default: the model config's {@code enable_gradient_checkpointing}). */
        public Builder recompute(boolean on) {
            this.recompute = on;
            return this;
        }

        public Builder loaderThreads(int n) {
            this.loaderThreads = n;
            return this;
        }

        /** Stop this invocation after so many steps (checkpointing there) without changing the schedule. */
        public Builder stopAfterSteps(long n) {
            this.stopAfterSteps = n;
            return this;
        }

        /** How the finetune sampler measures row length (W17: tokens by default, the reference's words as parity). */
        public Builder lengths(MervBatchSource.Lengths l) {
            this.lengths = l;
            return this;
        }

        /** Print the setup summary and the progress bar (default on). */
        public Builder console(boolean on) {
            this.console = on;
            return this;
        }

        /**
         * Caches the frozen encoders' outputs in {@code dir} (created if needed; shared by runs and processes):
         * a clip found there is neither decoded nor encoded (docs/data.md "The frozen-feature cache").
         */
        public Builder featureCache(Path dir) {
            return featureCache(dir, FeatureCache.Options.defaults());
        }

        /** {@link #featureCache(Path)} with a size bound, shard size ... ({@code null} dir: no cache). */
        public Builder featureCache(Path dir, FeatureCache.Options options) {
            this.featureCacheDir = dir;
            this.featureCacheOptions = options;
            return this;
        }

        /**
         * Train LoRA adapters on the LLM instead of the LLM itself (null: a full finetune, the default): the LLM's
         * own weights stay frozen in the compute dtype, projectors and fusion train fully, every checkpoint holds
         * the adapters in PEFT's layout too ({@code adapter_config.json}, {@code adapter_model.safetensors}).
         */
        public Builder lora(LoraConfig config) {
            this.lora = config;
            return this;
        }

        /** Train on any micro-batch source instead of the Video-LLaVA dataset. */
        public Builder batchSource(BatchSource<MervMicroBatch> s) {
            this.source = s;
            return this;
        }

        /** Called on the driving thread after every optimizer step. */
        public Builder onStep(Consumer<StepRecord> l) {
            stepListeners.add(l);
            return this;
        }

        /** Called with replica 0's model once it is built, before the first step (e.g. to evaluate it). */
        public Builder beforeTraining(Consumer<Merv> l) {
            beforeTraining.add(l);
            return this;
        }

        /** Called with replica 0's model after the last step, while its weights are still alive. */
        public Builder afterTraining(Consumer<Merv> l) {
            afterTraining.add(l);
            return this;
        }

        /** Validates the configuration (files are looked for by {@link Training#preflight}). */
        public Training build() {
            String family = config.stage().hyperParameterFamily();
            for (String[] f : stageFields) {
                config = config.withModel(config.model().with(family + "_" + f[0], f[1]));
            }
            stageFields.clear();
            return new Training(this);
        }
    }
}
