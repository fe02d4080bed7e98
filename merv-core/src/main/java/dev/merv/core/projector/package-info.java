/**
 * MERV's per-encoder projectors (docs/reference.md §3.1-3.2): the {@code arch_specifier} parser, the token
 * resamplers ({@code 3davg}, {@code avg}, {@code attntv}, {@code conv}, {@code 3dconv}, {@code frameN}), the
 * projection heads ({@code linear}, {@code gelu-mlp}, {@code fused-gelu-mlp}, {@code none}) with the
 * reference's parameter names, PyTorch-exact adaptive average pooling, and the reference's initialisation
 * stream ({@link dev.merv.core.projector.ReferenceInit}).
 */
package dev.merv.core.projector;
