/**
 * Training: stages and freezing, AdamW on sharded fp32 master weights, the reference LR schedule,
 * global-norm clipping, token-weighted gradient accumulation, activation recomputation, in-process
 * data parallelism through {@link dev.merv.core.train.Collective}, run directories, checkpoints with
 * exact resume, and metrics. The trainer drives any {@link dev.merv.core.train.TrainableModel}; the
 * MERV model implements it, tests use small stand-ins.
 */
package dev.merv.core.train;
