/**
 * PyTorch checkpoints as data: {@link dev.merv.core.weights.torch.TorchCheckpoint} reads
 * {@code torch.save} files (zip and legacy formats) the way {@code torch.load(weights_only=True)}
 * does, without executing them; {@link dev.merv.core.weights.torch.TorchSaveWriter} writes zip-format
 * files that {@code torch.load(weights_only=True)} accepts; {@link dev.merv.core.weights.torch.ReferenceRun}
 * writes a MERV run in the Python reference's layout; {@link dev.merv.core.weights.torch.TorchCheckpoints}
 * converts to safetensors.
 *
 * <p><b>Why a hand-written unpickler rather than a pickle library.</b> The one well-kept JVM pickle
 * library ({@code net.razorvine:pickle}) was read opcode by opcode and found unsuited to untrusted
 * checkpoints:
 * <ul>
 *   <li>GLOBAL, STACK_GLOBAL and INST resolve names through a JVM-wide static mutable registry and,
 *       for any name not in it, build a {@code ClassDict} instead of refusing: there is no allow-list
 *       to configure, only a deny-nothing default;</li>
 *   <li>BUILD calls {@code __setstate__} reflectively on whatever object is on the stack;</li>
 *   <li>the opcode handlers are package-private, so the only way to restrict them is to override
 *       {@code dispatch} for GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ, NEWOBJ_EX, BUILD, the
 *       persistent ids and every length-prefixed opcode, i.e. to re-implement the dangerous half;</li>
 *   <li>length-prefixed opcodes (BINUNICODE, BINBYTES, LONG4) allocate the claimed length before
 *       reading it, so a 4-byte field makes it allocate 2 GiB from a file of a few bytes, and a read
 *       past the end of the input is silently a -1 byte in places;</li>
 *   <li>dicts become {@code HashMap}s, losing the order of a state dict.</li>
 * </ul>
 * The subset a weights file needs is small: PyTorch's own weights-only loader is itself a short
 * hand-written opcode loop over the same subset. So {@link dev.merv.core.weights.torch.WeightsUnpickler}
 * implements exactly that subset (protocol 2 to 5 data opcodes), resolves only the allowed globals
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter}, the typed storage classes and {@code torch.UntypedStorage})
 * and refuses every other global by its name, and every object-building opcode (INST, OBJ, NEWOBJ,
 * NEWOBJ_EX, EXT1/2/4) by its name, before anything is built. It can construct only {@code null},
 * Boolean, Long, BigInteger, Double, String, ArrayList and its own tuple, dict, storage and tensor
 * records: there is no reflection and no class lookup anywhere in it.
 *
 * <p>Bounds: every length field is checked against the bytes left in its record before allocation;
 * value stack, MARK depth and memo are capped; nesting depth (1000), cycles and memo sharing (a walk
 * budget) are checked when the object is walked into named tensors; each tensor's size, stride and
 * offset are checked against its storage, and each storage against its record, before any tensor
 * memory exists.
 */
package dev.merv.core.weights.torch;
