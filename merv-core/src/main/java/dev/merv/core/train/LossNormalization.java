package dev.merv.core.train;

/**
 * How micro-batch losses combine into the step's gradient.
 *
 * <ul>
 *   <li>{@link #TOKENS} (default, the W11 fix): the summed cross-entropy of every micro-batch of every
 *       replica divided by the total count of supervised tokens of the step, so the update equals the
 *       whole global batch's token mean whatever the micro-batch / replica split.
 *   <li>{@link #MEAN_OF_MEANS} (reference parity): each micro-batch's token mean divided by the
 *       accumulation steps, averaged over replicas — what {@code loss / accumulation_steps} plus
 *       FSDP's gradient averaging computes. A micro-batch without supervised tokens contributes 0
 *       (the reference would get NaN).
 * </ul>
 */
public enum LossNormalization { TOKENS, MEAN_OF_MEANS }
