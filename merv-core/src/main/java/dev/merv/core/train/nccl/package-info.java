/**
 * The NCCL {@link dev.merv.core.train.Collective} for replicas on several local GPUs: JNA bindings to
 * {@code libnccl.so.2} ({@link dev.merv.core.train.nccl.NcclLibrary}), how the library is found
 * ({@link dev.merv.core.train.nccl.Nccl}), and the collective itself
 * ({@link dev.merv.core.train.nccl.NcclCollective}): one process, one communicator per GPU from
 * {@code ncclCommInitAll}, each replica thread queueing its rank's calls on its device's current
 * torch CUDA stream. {@link dev.merv.core.train.Collectives#forDevices} picks it for CUDA replicas.
 * docs/gpus.md describes the design, including multi-node and overlapping reduction with backward.
 */
package dev.merv.core.train.nccl;
