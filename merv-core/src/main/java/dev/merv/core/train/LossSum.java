package dev.merv.core.train;

import ai.djl.ndarray.NDArray;

/**
 * A micro-batch's loss as the trainer needs it: the cross-entropy <em>summed</em> over supervised
 * tokens (a 0-dim tensor with autograd, fp32) and the number of those tokens. Summing lets the
 * trainer weight micro-batches and replicas by tokens (W11 fix) or reproduce the reference's mean
 * of per-micro-batch means.
 */
public record LossSum(NDArray summed, long tokens) {}
