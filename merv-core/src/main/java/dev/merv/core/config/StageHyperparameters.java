package dev.merv.core.config;

/**
 * The optimisation hyper-parameters of one run, copied from the model config's {@code align_*} or
 * {@code finetune_*} fields by stage, as the reference's {@code PretrainConfig.__post_init__} does.
 *
 * @param maxSteps null = run {@code epochs} epochs
 */
public record StageHyperparameters(Stage stage, int epochs, Integer maxSteps, int globalBatchSize, int perDeviceBatchSize,
        double learningRate, double weightDecay, double maxGradNorm, String lrSchedulerType, double warmupRatio,
        String trainStrategy) {

    static StageHyperparameters of(Stage stage, ModelConfig m) {
        if (stage.isAlign()) {
            return new StageHyperparameters(stage, m.alignEpochs(), m.alignMaxSteps(), m.alignGlobalBatchSize(),
                    m.alignPerDeviceBatchSize(), m.alignLearningRate(), m.alignWeightDecay(), m.alignMaxGradNorm(),
                    m.alignLrSchedulerType(), m.alignWarmupRatio(), m.alignTrainStrategy());
        }
        if (stage.isFinetune()) {
            return new StageHyperparameters(stage, m.finetuneEpochs(), m.finetuneMaxSteps(), m.finetuneGlobalBatchSize(),
                    m.finetunePerDeviceBatchSize(), m.finetuneLearningRate(), m.finetuneWeightDecay(),
                    m.finetuneMaxGradNorm(), m.finetuneLrSchedulerType(), m.finetuneWarmupRatio(),
                    m.finetuneTrainStrategy());
        }
        throw new ConfigException("stage='" + stage + "' is neither an align nor a finetune stage");
    }

    /** Micro-batches per optimizer step for {@code worldSize} replicas (checked: W19). */
    public int gradAccumulationSteps(int worldSize) {
        if (globalBatchSize % perDeviceBatchSize != 0 || (globalBatchSize / perDeviceBatchSize) % worldSize != 0) {
            throw new ConfigException("global batch size " + globalBatchSize + " is not a multiple of per-device batch size "
                    + perDeviceBatchSize + " x " + worldSize + " device(s); change model." + (stage.isAlign() ? "align" : "finetune")
                    + "_global_batch_size / _per_device_batch_size or --devices (W19)");
        }
        return globalBatchSize / perDeviceBatchSize / worldSize;
    }
}
