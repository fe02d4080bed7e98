package dev.merv.core.train;

import dev.merv.core.model.Precision;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.config.Resume;
import dev.merv.core.config.Stage;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

/**
 * Trainer settings, named after the reference's flags (docs/reference.md §1.1, §6) where one exists.
 * Defaults are the reference's finetune values; {@link #validate} fails with the field's name before
 * any weights load.
 */
public final class TrainConfig {

    /** {@code --stage}. */
    public Stage stage = Stage.FINETUNE;
    /** {@code --run_id}; null = {@code {dataset}+{model}+stage-{stage}+x{seed}}. */
    public String runId;
    /** {@code --run_root_dir}. */
    public String runRootDir = "runs";
    public String datasetId = "videollava";
    public String modelId = "merv-base";
    /** {@code --seed}. */
    public long seed = 7;

    /** {@code global_batch_size}. */
    public int globalBatchSize = 128;
    /** {@code per_device_batch_size}. */
    public int perDeviceBatchSize = 16;
    /** {@code epochs}. */
    public int epochs = 1;
    /** {@code max_steps}; 0 = epochs decide. When set it is the schedule length T. */
    public long maxSteps = 0;
    /** Stop this invocation after so many optimizer steps (checkpointing there), without changing the schedule. */
    public long stopAfterSteps = 0;

    public double learningRate = 2e-5;
    public double weightDecay = 0.1;
    public double maxGradNorm = 1.0;
    public double warmupRatio = 0.03;
    public double beta1 = 0.9;
    public double beta2 = 0.999;
    public double eps = 1e-8;
    public LrSchedule.FirstStep firstStep = LrSchedule.FirstStep.ZERO_LR;
    public LossNormalization lossNormalization = LossNormalization.TOKENS;

    public Precision precision = Precision.BF16;
    /**
     * {@code reduce_in_full_precision}: with a half-precision compute dtype, gradients are summed across replicas in
     * fp32 ({@code true}) or, as the reference's default ({@code false}), in the compute dtype, as FSDP's
     * {@code reduce_dtype} does; either way each owner accumulates micro-batches and steps in fp32.
     */
    public boolean reduceInFullPrecision = false;
    /** Activation recomputation per LLM layer (the reference checkpoints every decoder layer). */
    public boolean recompute = true;
    /** {@code --devices}: see {@link Devices}. */
    public String devices;
    /** Gradient bucket size limit in elements. */
    public long bucketCapElements = 25_000_000L;

    /** {@code --save_checkpoint_after}: checkpoint every N optimizer steps (and at the end). */
    public long saveCheckpointAfter = 512;
    /** {@code --keep_checkpoints}: newest checkpoints kept (0 = keep all). */
    public int keepCheckpoints = 3;
    /**
     * Write a checkpoint when the run ends (at {@code max_steps}, the last epoch or {@link #stopAfterSteps}) if the
     * last step has none yet. Off only for benchmarks and dry runs, whose state nobody resumes: a 7B-shaped
     * benchmark's closing checkpoint would cost more than its timed steps.
     */
    public boolean checkpointAtEnd = true;
    /** {@code --resume}: continue from the run directory's newest intact checkpoint (never, required, auto). */
    public Resume resume = Resume.NEVER;
    /** {@code --resume_from_checkpoint}: continue from this checkpoint directory. */
    public String resumeFromCheckpoint;

    /**
     * {@code --checkpoint_failures}: consecutive scheduled checkpoints that may fail to be written (a full
     * disk) while training goes on, retrying at the next interval; 0 stops the run at the first failure.
     */
    public int checkpointFailures = 0;

    /** Consecutive non-finite steps (loss or gradient norm) after which the run stops with a checkpoint. */
    public int maxNonFiniteSteps = 5;
    /** Print the setup summary and the progress bar. */
    public boolean console = true;

    /** The dtype gradients are reduced across replicas in ({@link #reduceInFullPrecision}). */
    public ScalarType reduceType() {
        ScalarType compute = precision.compute();
        return reduceInFullPrecision || !compute.isFloating() || compute.bytes() >= 4 ? ScalarType.FLOAT32 : compute;
    }

    public String effectiveRunId() {
        return runId != null ? runId : datasetId + "+" + modelId + "+stage-" + stage.id() + "+x" + seed;
    }

    /** {@code {run_root_dir}/{run_id}}. */
    public java.nio.file.Path runDir() {
        return java.nio.file.Path.of(runRootDir).resolve(effectiveRunId());
    }

    public void validate() {
        require(globalBatchSize > 0, "global_batch_size", "must be > 0");
        require(perDeviceBatchSize > 0, "per_device_batch_size", "must be > 0");
        require(globalBatchSize % perDeviceBatchSize == 0, "global_batch_size",
                "must be a multiple of per_device_batch_size " + perDeviceBatchSize);
        require(epochs > 0 || maxSteps > 0, "epochs", "must be > 0 unless max_steps is set");
        require(learningRate >= 0, "learning_rate", "must be >= 0");
        require(weightDecay >= 0, "weight_decay", "must be >= 0");
        require(maxGradNorm > 0, "max_grad_norm", "must be > 0");
        require(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio", "must be in [0, 1]");
        require(saveCheckpointAfter > 0, "save_checkpoint_after", "must be > 0");
        require(keepCheckpoints >= 0, "keep_checkpoints", "must be >= 0");
        require(maxNonFiniteSteps > 0, "max_nonfinite_steps", "must be > 0");
        require(bucketCapElements > 0, "bucket_cap_elements", "must be > 0");
        require(resume != null, "resume", "must be set (never, required or auto)");
        require(!(resume.enabled() && resumeFromCheckpoint != null), "resume",
                "give --resume or --resume_from_checkpoint, not both");
        require(checkpointFailures >= 0, "checkpoint_failures", "must be >= 0");
    }

    private static void require(boolean ok, String field, String msg) {
        if (!ok) {
            throw new IllegalArgumentException("train config: " + field + " " + msg);
        }
    }

    public JsonObject toJson() {
        JsonObject o = new GsonBuilder().create().toJsonTree(this).getAsJsonObject();
        o.addProperty("stage", stage.id());
        o.addProperty("run_id", effectiveRunId());
        o.addProperty("resume", resume.flag());
        return o;
    }
}
