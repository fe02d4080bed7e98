package dev.merv.core.train;

/**
 * Batch arithmetic (docs/reference.md §6.1): {@code accumulation = global / (perDevice * replicas)}.
 * Unlike the reference, a global batch that does not divide exactly is an error (W19 fix).
 */
public record BatchPlan(int globalBatch, int perDeviceBatch, int replicas, int accumulation) {

    public static BatchPlan of(int globalBatch, int perDeviceBatch, int replicas) {
        if (globalBatch <= 0 || perDeviceBatch <= 0 || replicas <= 0) {
            throw new IllegalArgumentException("batch sizes must be positive: global_batch_size=" + globalBatch
                    + ", per_device_batch_size=" + perDeviceBatch + ", replicas=" + replicas);
        }
        long perStep = (long) perDeviceBatch * replicas;
        if (globalBatch % perStep != 0) {
            throw new IllegalArgumentException("global_batch_size " + globalBatch + " is not a multiple of"
                    + " per_device_batch_size " + perDeviceBatch + " x " + replicas + " replicas = " + perStep
                    + " (the reference silently changes the effective batch here, W19)");
        }
        return new BatchPlan(globalBatch, perDeviceBatch, replicas, (int) (globalBatch / perStep));
    }

    /** Rows of one replica's share of a global batch. */
    public int perReplica() {
        return globalBatch / replicas;
    }
}
