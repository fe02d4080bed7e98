package dev.merv.core.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The whole run configuration: the reference's top-level {@code PretrainConfig} flags
 * (docs/reference.md §1.1) around a {@link ModelConfig} and a {@link DatasetConfig}, plus merv's own
 * flags at the end.
 *
 * @param runId null = {@code {dataset_id}+{model_id}+stage-{stage}+x{seed}} (see {@link #resolvedRunId()})
 * @param saveCheckpointAfter checkpoint every N optimizer steps (this one is used, not the model's)
 * @param hfToken a file path holding the token, or the name of an environment variable holding it
 * @param devices merv: which devices train, e.g. {@code cpu}, {@code gpu0,gpu1}, {@code gpu:4} (the first four
 *     GPUs); grammar in {@link dev.merv.core.train.Devices}
 *     (4 GPUs), or {@code auto} (every GPU, else the CPU)
 * @param keepCheckpoints merv: how many checkpoints to keep (default 3, W13 fix); 0 keeps all as the
 *     reference does
 * @param resume merv: continue from the run directory's newest intact checkpoint: {@code false} never,
 *     {@code true} (one must exist), {@code auto} (if there is one, else start fresh); see {@link Resume}
 * @param tokenWeightedLoss merv: weight micro-batches by their supervised token count when
 *     accumulating gradients (default, the W11 fix: the update no longer depends on how the global
 *     batch is split); false = the reference's mean of micro-batch means (parity)
 */
public record PretrainConfig(
        ModelConfig model,
        DatasetConfig dataset,
        Stage stage,
        Path pretrainedCheckpoint,
        Path resumeFromCheckpoint,
        int saveCheckpointAfter,
        String runId,
        Path runRootDir,
        int seed,
        String hfToken,
        List<String> trackers,
        String wandbProject,
        String wandbEntity,
        int slurmId,
        String devices,
        int keepCheckpoints,
        Resume resume,
        boolean tokenWeightedLoss) {

    public PretrainConfig {
        trackers = List.copyOf(trackers);
        resume = resume == null ? Resume.NEVER : resume;
    }

    /** The reference defaults: merv-base, videollava, finetune, seed 7. */
    public static PretrainConfig defaults() {
        return defaults(ModelRegistry.get(ModelRegistry.MERV_BASE), DatasetConfig.videollava());
    }

    public static PretrainConfig defaults(ModelConfig model, DatasetConfig dataset) {
        return new PretrainConfig(model, dataset, Stage.FINETUNE, null, null, 512, null, Path.of("runs"), 7,
                ".hf_token", List.of("jsonl", "wandb"), "merv", null, -1, "auto", 3, Resume.NEVER, true);
    }

    /** The stage's optimisation hyper-parameters (align_* or finetune_*). */
    public StageHyperparameters train() {
        return StageHyperparameters.of(stage, model);
    }

    /** {@code runId}, or the reference's automatic {@code {dataset}+{model}+stage-{stage}+x{seed}}. */
    public String resolvedRunId() {
        if (runId != null) {
            return runId;
        }
        String prefix = "llava-v15".equals(dataset.datasetId()) ? "" : dataset.datasetId() + "+";
        return prefix + model.modelId() + "+stage-" + stage.flag() + "+x" + seed;
    }

    /** {@code {run_root_dir}/{run_id}}. */
    public Path runDir() {
        return runRootDir.resolve(resolvedRunId());
    }

    public PretrainConfig withModel(ModelConfig m) {
        return new PretrainConfig(m, dataset, stage, pretrainedCheckpoint, resumeFromCheckpoint, saveCheckpointAfter,
                runId, runRootDir, seed, hfToken, trackers, wandbProject, wandbEntity, slurmId, devices, keepCheckpoints,
                resume, tokenWeightedLoss);
    }

    public PretrainConfig withDataset(DatasetConfig d) {
        return new PretrainConfig(model, d, stage, pretrainedCheckpoint, resumeFromCheckpoint, saveCheckpointAfter,
                runId, runRootDir, seed, hfToken, trackers, wandbProject, wandbEntity, slurmId, devices, keepCheckpoints,
                resume, tokenWeightedLoss);
    }

    /** A copy with one top-level field set from flag text. */
    public PretrainConfig with(String field, String value) {
        if (field.equals("model") || field.equals("dataset")) {
            throw new ConfigException("--" + field + " needs a field: --" + field + ".type or --" + field + ".<field>");
        }
        return RecordFields.with(this, field, value, "");
    }
}
