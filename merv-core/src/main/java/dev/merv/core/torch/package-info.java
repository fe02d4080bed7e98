/**
 * The torch bridge: everything DJL 0.36 lacks or cannot run on bf16, in one place.
 *
 * <p>{@link dev.merv.core.torch.Op} calls any ATen overload by its schema through libtorch's C entry
 * point {@code aoti_torch_call_dispatcher} (JNA direct mapping). The StableIValue rules: one 64-bit
 * slot per schema argument, all of them in order; tensors are fresh handles that the dispatcher
 * steals; int as int64 bits, float as double bits, bool as 0/1, ScalarType as the c10 code; an
 * optional is 0 for None or a pointer to a C++-heap slot that libtorch deletes. Device is the one
 * argument whose layout changed between libtorch releases ({@code DeviceSlot}: the c10::Device bytes
 * in 2.7, type and index in two 32-bit halves from 2.10), so the bridge reads the loaded libtorch's
 * version ({@code aoti_torch_abi_version}) and its device type codes before writing one. Tensor returns are new {@code at::Tensor*} handles, the same format as DJL's,
 * so they are wrapped as {@code PtNDArray}s owned by the first tensor argument's manager. The call
 * goes through the Autograd dispatch key, so bridged ops are differentiable exactly where PyTorch's
 * are (casts included, unlike DJL's {@code toType}).
 *
 * <p>What is bridged ({@link dev.merv.core.torch.Torch}): dtype casts between fp32/fp16/bf16 and the
 * bit-exact {@code view.dtype} reinterpret, device moves, {@code scaled_dot_product_attention}
 * (causal, boolean or additive mask, scale, grouped-query heads), {@code cross_entropy_loss} (with
 * {@code ignore_index} and reduction), {@code silu}, {@code softmax}/{@code log_softmax} with an
 * optional accumulate dtype, {@code rsqrt}, {@code erf}, {@code tanh}, {@code sigmoid},
 * {@code zeros_like}, {@code clone}, {@code contiguous}, {@code copy_}, {@code matmul}, {@code mul}, {@code linear},
 * {@code embedding}, {@code index_select}, {@code masked_fill}, {@code transpose}, {@code any},
 * {@code logical_not}, {@code argmax}, scalars filled on the tensor's device ({@code Torch.scalar}, never
 * copied from the host: DJL's {@code Number} overloads synchronise a GPU per call), and the real dtype
 * of a tensor ({@code aoti_torch_get_dtype}; DJL says UNKNOWN for bf16), and strided views over a
 * tensor's memory ({@code aoti_torch__reinterpret_tensor}, bounds checked by the caller; the torch.save
 * reader's views).
 *
 * <p>What cannot pass through the 2.7 entry point, and what merv does instead (each refused at
 * {@code Op.of} with the argument named; libtorch 2.7 has no list, Scalar, str or Generator
 * conversion):
 *
 * <ul>
 *   <li>{@code int[]}/{@code SymInt[]} arguments:
 *     <ul>
 *       <li>{@code rms_norm}: composed in {@code dev.merv.core.nn.RmsNorm} (fp32 mean of squares
 *           with DJL's dtype-free {@code mul}/{@code mean}, bridged {@code rsqrt}, bridged casts);</li>
 *       <li>{@code layer_norm}: DJL's {@code LayerNorm.layerNorm} on an fp32 copy made by the bridged
 *           cast, cast back ({@code dev.merv.core.nn.LayerNorm});</li>
 *       <li>{@code reshape}/{@code view}/{@code permute}/{@code expand}/{@code repeat},
 *           {@code sum}/{@code mean} over dims, {@code conv*}, adaptive pooling, interpolation:
 *           DJL's own JNI ops, which pass no dtype and therefore also run on bf16.</li>
 *     </ul></li>
 *   <li>{@code Tensor[]} arguments or returns ({@code cat}, {@code stack}, {@code split},
 *       {@code _fused_adamw_}, {@code _foreach_*}): DJL's {@code concat}/{@code stack}/{@code split};
 *       the optimizer is merv's own AdamW over fp32 masters.</li>
 *   <li>{@code Scalar} arguments ({@code add.Tensor}/{@code sub.Tensor} carry {@code Scalar alpha};
 *       every {@code .Scalar} overload, {@code clamp}, {@code pow.Tensor_Scalar}, {@code full},
 *       {@code scalar_tensor}): DJL's dtype-free {@code add}/{@code sub}/{@code pow}/{@code clip}, and
 *       {@link dev.merv.core.torch.Torch#mulScalar}/{@code divScalar}/{@code addScalar} (a 0-dim tensor
 *       libtorch allocates); {@link dev.merv.core.torch.Torch#maskedFill} takes its value as a
 *       0-dim tensor ({@code masked_fill.Tensor}) for the same reason. <b>Never</b> use DJL's
 *       {@code mul/div/sub/pow/maximum(Number)} on a tensor that may be in an autograd graph: the scalar
 *       is a CPU tensor over a Java direct buffer ({@code from_blob}) that DJL closes right after the op,
 *       autograd keeps it for backward, and a garbage collection in between frees it, so backward reads
 *       freed memory (sporadic garbage gradients; {@code ScalarOpsAfterGcTest}). The same holds for any
 *       {@code NDManager.create(...)} array whose handle is closed while a graph still uses it.</li>
 *   <li>{@code str} arguments: tanh-GELU ({@code gelu(approximate='tanh')}) is composed in
 *       {@link dev.merv.core.torch.Torch#geluTanh} from DJL ops and the bridged {@code tanh}; erf-GELU
 *       is DJL's own dtype-free {@code gelu}; collectives ({@code _c10d_functional::*}) go through
 *       merv's {@code Collective} interface instead.</li>
 *   <li>{@code Generator?} arguments (sampling ops with an explicit generator): DJL's
 *       {@code random*} on fp32, cast with the bridge; SDPA is always called with
 *       {@code dropout_p = 0}.</li>
 *   <li>Non-tensor returns (e.g. {@code aten::item}, {@code _local_scalar_dense}): refused by
 *       {@link dev.merv.core.torch.Op#callAll}; read values through DJL ({@code getFloat} after a
 *       bridged cast to fp32) or {@link dev.merv.core.torch.Torch#toFloatArray}.</li>
 * </ul>
 *
 * <p>DJL calls that abort the JVM on a bf16 (or int16) tensor because they pass a dtype to DJL's JNI
 * ({@code toType}, {@code toDevice}, {@code softmax}/{@code logSoftmax}, {@code zerosLike}/
 * {@code onesLike}, {@code zeros/ones/create(..., BFLOAT16)}, {@code NDArray.decode},
 * {@code GradientCollector.backward} on a bf16 loss) have bridged replacements here; a test in a child
 * JVM pins that DJL still aborts, so an upgrade that fixes it is noticed.
 *
 * <p>Errors never crash the JVM for a correctly declared schema: wrong argument counts, kinds and
 * nulls are refused in Java before the call, and whatever libtorch rejects (unknown op, dtype or
 * shape it does not accept) comes back as a {@link dev.merv.core.torch.BridgeException} naming the op
 * and the arguments (libtorch 2.7 prints its own reason to stderr only). A schema that disagrees with
 * the registered one is the exception: see {@link dev.merv.core.torch.Op}.
 *
 * <p>Host-to-device transfers ({@link dev.merv.core.torch.Transfers}): host tensors in pinned memory when
 * libtorch sees a GPU, filled from Java arrays (bf16 rounded as libtorch rounds) and copied to the device
 * without blocking; {@code Torch.dataPointer} refuses any tensor that is not on the CPU.
 *
 * <p>The typed {@code aoti_torch_cpu_*} shims are not used: they record no autograd. The CUDA side
 * ({@link dev.merv.core.torch.Cuda}: libtorch's GPU count, current streams, device guards) is bound to
 * {@code libc10_cuda.so}/{@code libtorch_cuda.so} when the loaded libtorch has them. The bridge runs
 * on DJL's libtorch 2.7.1 and, through the GPU kit's rebuilt JNI, on other versions (2.14 tested on
 * CPU); nothing has yet run on a GPU (docs/gpus.md).
 */
package dev.merv.core.torch;
