/**
 * The torch bridge: everything DJL 0.36 lacks or cannot run on bf16, in one place.
 *
 * <p>{@link dev.merv.core.torch.Op} calls any ATen overload by its schema through libtorch's C entry
 * point {@code aoti_torch_call_dispatcher} (JNA direct mapping). libtorch 2.7's StableIValue rules:
 * one 64-bit slot per schema argument, all of them in order; tensors are fresh handles that the
 * dispatcher steals; int as int64 bits, float as double bits, bool as 0/1, ScalarType as the c10
 * code, Device as {@code type | index << 8}; an optional is 0 for None or a pointer to a C++-heap slot
 * that libtorch deletes. Tensor returns are new {@code at::Tensor*} handles, the same format as DJL's,
 * so they are wrapped as {@code PtNDArray}s.
 *
 * <p>What cannot pass through the 2.7 entry point and how merv composes it instead:
 *
 * <ul>
 *   <li>lists ({@code int[]}, {@code SymInt[]}, {@code Tensor[]}): {@code rms_norm} is composed
 *       (fp32 mean of squares, bridged {@code rsqrt}) in {@code dev.merv.core.nn}; {@code layer_norm},
 *       {@code conv*}, adaptive pooling and interpolation use DJL's dtype-free JNI ops;
 *       {@code _fused_adamw_} is replaced by merv's own AdamW over fp32 masters.</li>
 *   <li>{@code Scalar}: {@code add}/{@code sub} with alpha and every Scalar overload; DJL's
 *       dtype-free {@code add}/{@code mul(Number)} serve.</li>
 *   <li>{@code str}: tanh-GELU is composed ({@link dev.merv.core.torch.Torch#geluTanh}); erf-GELU is
 *       DJL's own dtype-free op; collectives go through merv's {@code Collective} interface.</li>
 * </ul>
 *
 * <p>The typed {@code aoti_torch_cpu_*} shims are not used: they record no autograd.
 */
package dev.merv.core.torch;
