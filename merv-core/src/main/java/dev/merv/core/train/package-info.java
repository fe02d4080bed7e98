/**
 * Training: stages and freezing, AdamW on sharded fp32 master weights, the reference LR schedule,
 * global-norm clipping, token-weighted gradient accumulation, activation recomputation, in-process
 * data parallelism through {@link dev.merv.core.train.Collective}, run directories, checkpoints with
 * exact resume, and metrics. The trainer drives any {@link dev.merv.core.train.TrainableModel}; the
 * MERV model implements it, tests use small stand-ins.
 *
 * <p>Integrating a model: build one instance per replica in the
 * {@link dev.merv.core.train.Trainer.ReplicaFactory} (trainable weights loaded in fp32: they seed the
 * masters), return the summed loss in {@code forward}, run frozen parts under
 * {@code Torch.noGrad()}, and offer {@code layered()} (prefix = encoders + projectors + fusion +
 * splice, layers = the LLM's {@code layer}, head = norm + LM head + loss) for recomputation. Wrap
 * {@link dev.merv.core.model.MervBatch} in {@link dev.merv.core.train.MervMicroBatch}. The trainer
 * replaces every trainable parameter's tensor after each step (fresh compute copies in a per-step
 * manager), so bridged results attached to a weight's manager die with that generation; results
 * attached to a <em>frozen</em> weight's manager are not collected, so put the activation first in
 * ops whose result must not outlive the step, or close them.
 */
package dev.merv.core.train;
