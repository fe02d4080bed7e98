package dev.merv.core.torch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One ATen operator overload, described by its schema string and called through libtorch's boxed
 * dispatcher ({@code aoti_torch_call_dispatcher}).
 *
 * <p>The schema is parsed once, when the op is declared: its argument kinds decide how each Java
 * argument is encoded (StableIValue rules, see the package javadoc), the argument count
 * is checked before the native call (a short stack would make libtorch read past it), and kinds the
 * 2.7 entry point cannot convert (lists, {@code Scalar}, {@code str}, {@code Generator}) are refused
 * at declaration time with the argument named. Trailing arguments with defaults may be omitted.
 *
 * <p>The schema must be copied exactly from libtorch ({@code native_functions.yaml} or
 * {@code torch._C._jit_get_schemas_for_operator}): libtorch 2.7's entry point offers no way to read
 * the registered schema back, and it decodes each slot by the <em>registered</em> argument type, so
 * a declaration that says {@code int} where libtorch has {@code Tensor} hands it a bogus pointer.
 * Where the declared kind is one libtorch cannot convert (e.g. {@code float} declared for a real
 * {@code Scalar}) the call is refused with a {@link BridgeException}. An op name that does not exist
 * is refused the same way; its argument handles are then not freed (libtorch gives up before taking
 * them), which is acceptable on an error path only.
 */
public final class Op {

    private static final int SPARE_SLOTS = 4;

    enum Kind { TENSOR, INT, FLOAT, BOOL, SCALAR_TYPE, DEVICE, LAYOUT, MEMORY_FORMAT }

    record Arg(String name, Kind kind, boolean optional, Object defaultValue, boolean hasDefault) {}

    private final String qualifiedName;
    private final String schema;
    private final Pointer opName;
    private final Pointer overloadName;
    private final List<Arg> args;
    private final int returns;
    private final List<Boolean> returnIsTensor;

    private Op(String schema) {
        this.schema = schema;
        int open = schema.indexOf('(');
        int arrow = schema.lastIndexOf("->");
        int close = schema.lastIndexOf(')', arrow);
        if (open < 0 || arrow < 0 || close < open) {
            throw new IllegalArgumentException("not an ATen schema: " + schema);
        }
        qualifiedName = schema.substring(0, open).trim();
        int dot = qualifiedName.indexOf('.', qualifiedName.indexOf("::"));
        String op = dot < 0 ? qualifiedName : qualifiedName.substring(0, dot);
        String overload = dot < 0 ? "" : qualifiedName.substring(dot + 1);
        opName = cString(op);
        overloadName = cString(overload);
        args = parseArgs(schema.substring(open + 1, close));
        String ret = schema.substring(arrow + 2).trim();
        List<Boolean> rets = new ArrayList<>();
        if (ret.startsWith("(")) {
            for (String r : splitTopLevel(ret.substring(1, ret.length() - 1))) {
                rets.add(r.trim().startsWith("Tensor"));
            }
        } else if (!ret.isEmpty() && !ret.equals("()")) {
            rets.add(ret.startsWith("Tensor"));
        }
        returnIsTensor = List.copyOf(rets);
        returns = rets.size();
    }

    /** Declares an op from its full schema, e.g. {@code aten::silu(Tensor self) -> Tensor}. */
    public static Op of(String schema) {
        LibTorch.init();
        return new Op(schema);
    }

    public String name() {
        return qualifiedName;
    }

    public String schema() {
        return schema;
    }

    public int argumentCount() {
        return args.size();
    }

    /** Calls the op and returns its single tensor result, attached to the first tensor argument's manager. */
    public NDArray call(Object... values) {
        if (returns != 1 || !returnIsTensor.get(0)) {
            throw new BridgeException(qualifiedName, "call() needs exactly one Tensor return; use callAll()");
        }
        return callAll(values)[0];
    }

    /** Calls the op and wraps every tensor return; non-tensor returns are not supported. */
    public NDArray[] callAll(Object... values) {
        PtNDManager manager = null;
        for (Object v : values) {
            if (v instanceof PtNDArray) {
                manager = ((PtNDArray) v).getManager();
                break;
            }
        }
        if (manager == null) {
            throw new BridgeException(qualifiedName, "needs at least one tensor argument to own its result");
        }
        return callOn(manager, values);
    }

    /** Calls the op with results attached to {@code manager}. */
    public NDArray[] callOn(PtNDManager manager, Object... values) {
        if (values.length > args.size()) {
            throw new BridgeException(qualifiedName, "takes " + args.size() + " arguments, got "
                    + values.length + " (schema: " + schema + ")");
        }
        // spare zero slots: a declared schema with fewer returns than the real op would otherwise let
        // libtorch write its extra results past the end of the stack
        long[] stack = new long[Math.max(args.size(), returns) + SPARE_SLOTS];
        int encoded = 0;
        try {
            for (int i = 0; i < args.size(); i++) {
                Arg a = args.get(i);
                Object v;
                if (i < values.length) {
                    v = values[i];
                } else if (a.hasDefault()) {
                    v = a.defaultValue();
                } else {
                    throw new BridgeException(qualifiedName, "argument " + i + " '" + a.name()
                            + "' has no default and was not given (" + values.length + " of "
                            + args.size() + " given; schema: " + schema + ")");
                }
                stack[i] = encode(a, i, v);
                encoded = i + 1;
            }
        } catch (RuntimeException e) {
            releaseEncoded(stack, encoded);
            throw e;
        }
        int rc = LibTorch.aoti_torch_call_dispatcher(opName, overloadName, stack);
        if (rc != 0) {
            throw new BridgeException(qualifiedName, "libtorch rejected the call (reason printed by libtorch on"
                    + " stderr as 'Exception in aoti_torch'); arguments: " + describe(values));
        }
        NDArray[] out = new NDArray[returns];
        for (int r = 0; r < returns; r++) {
            if (!returnIsTensor.get(r)) {
                throw new BridgeException(qualifiedName, "return " + r + " is not a tensor");
            }
            if (stack[r] == 0) {
                throw new BridgeException(qualifiedName, "returned a null tensor handle");
            }
            out[r] = new PtNDArray(manager, stack[r]);
        }
        return out;
    }

    /** Frees what was already encoded when encoding a later argument failed (stolen handles, heap optionals). */
    private void releaseEncoded(long[] stack, int encoded) {
        for (int i = 0; i < encoded; i++) {
            Arg a = args.get(i);
            if (stack[i] == 0) {
                continue;
            }
            if (a.optional()) {
                long inner = new Pointer(stack[i]).getLong(0);
                if (a.kind() == Kind.TENSOR && inner != 0) {
                    LibTorch.aoti_torch_delete_tensor_object(inner);
                }
                CxxHeap._ZdlPvm(stack[i], 8);
            } else if (a.kind() == Kind.TENSOR) {
                LibTorch.aoti_torch_delete_tensor_object(stack[i]);
            }
        }
    }

    private long encode(Arg a, int index, Object v) {
        if (v == null) {
            if (!a.optional()) {
                throw new BridgeException(qualifiedName, "argument " + index + " '" + a.name()
                        + "' is not optional and got null");
            }
            return 0L;
        }
        long bits = encodeValue(a, index, v);
        if (!a.optional()) {
            return bits;
        }
        long p = CxxHeap._Znwm(8);
        new Pointer(p).setLong(0, bits);
        return p;
    }

    private long encodeValue(Arg a, int index, Object v) {
        switch (a.kind()) {
            case TENSOR:
                if (!(v instanceof PtNDArray)) {
                    throw kindError(a, index, v, "a PyTorch NDArray");
                }
                return Torch.newHandle((PtNDArray) v);
            case INT:
                if (!(v instanceof Long || v instanceof Integer || v instanceof Short)) {
                    throw kindError(a, index, v, "an integer");
                }
                return ((Number) v).longValue();
            case FLOAT:
                if (!(v instanceof Number)) {
                    throw kindError(a, index, v, "a number");
                }
                return Double.doubleToRawLongBits(((Number) v).doubleValue());
            case BOOL:
                if (!(v instanceof Boolean)) {
                    throw kindError(a, index, v, "a boolean");
                }
                return ((Boolean) v) ? 1L : 0L;
            case SCALAR_TYPE:
                if (!(v instanceof ScalarType)) {
                    throw kindError(a, index, v, "a ScalarType");
                }
                return ((ScalarType) v).code() & 0xFFL;
            case DEVICE:
                if (!(v instanceof Device)) {
                    throw kindError(a, index, v, "a DJL Device");
                }
                try {
                    return Torch.deviceSlot((Device) v);
                } catch (IllegalStateException | IllegalArgumentException e) {
                    throw new BridgeException(qualifiedName, "argument " + index + " '" + a.name() + "': " + e.getMessage());
                }
            case LAYOUT:
            case MEMORY_FORMAT:
                if (!(v instanceof Integer)) {
                    throw kindError(a, index, v, "an enum code");
                }
                return ((Integer) v) & 0xFFL;
            default:
                throw new AssertionError(a.kind());
        }
    }

    private BridgeException kindError(Arg a, int index, Object v, String want) {
        return new BridgeException(qualifiedName, "argument " + index + " '" + a.name() + "' ("
                + a.kind().name().toLowerCase(Locale.ROOT) + (a.optional() ? "?" : "") + ") needs " + want
                + ", got " + v.getClass().getSimpleName());
    }

    static String describe(Object[] values) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            Object v = values[i];
            if (v instanceof PtNDArray) {
                PtNDArray t = (PtNDArray) v;
                sb.append("Tensor").append(t.getShape()).append(' ').append(Torch.dtype(t).name().toLowerCase(Locale.ROOT))
                        .append('@').append(t.getDevice());
            } else {
                sb.append(v);
            }
        }
        return sb.append(']').toString();
    }

    private List<Arg> parseArgs(String list) {
        List<Arg> out = new ArrayList<>();
        for (String raw : splitTopLevel(list)) {
            String s = raw.trim();
            if (s.isEmpty() || s.equals("*")) {
                continue;
            }
            String decl = s;
            String def = null;
            int eq = s.indexOf('=');
            if (eq >= 0) {
                decl = s.substring(0, eq).trim();
                def = s.substring(eq + 1).trim();
            }
            int sp = decl.lastIndexOf(' ');
            String type = decl.substring(0, sp).trim().replaceAll("\\(.*?\\)", "");
            String name = decl.substring(sp + 1);
            boolean optional = type.endsWith("?");
            String base = optional ? type.substring(0, type.length() - 1) : type;
            Kind kind;
            switch (base) {
                case "Tensor": kind = Kind.TENSOR; break;
                case "int": case "SymInt": kind = Kind.INT; break;
                case "float": kind = Kind.FLOAT; break;
                case "bool": kind = Kind.BOOL; break;
                case "ScalarType": kind = Kind.SCALAR_TYPE; break;
                case "Device": kind = Kind.DEVICE; break;
                case "Layout": kind = Kind.LAYOUT; break;
                case "MemoryFormat": kind = Kind.MEMORY_FORMAT; break;
                default:
                    throw new BridgeException(qualifiedName, "argument '" + name + "' of kind " + type
                            + " cannot be passed through libtorch 2.7's dispatcher entry point"
                            + " (no lists, Scalar, str or Generator); compose this op from DJL ops instead");
            }
            Object dv = null;
            boolean has = def != null;
            if (has && !def.equals("None")) {
                try {
                    switch (kind) {
                        case INT: dv = Long.parseLong(def); break;
                        case FLOAT: dv = Double.parseDouble(def); break;
                        case BOOL: dv = Boolean.parseBoolean(def.toLowerCase(Locale.ROOT)); break;
                        default: has = false;
                    }
                } catch (NumberFormatException e) {
                    has = false; // symbolic defaults (e.g. reduction=Mean) must be passed explicitly
                }
            }
            out.add(new Arg(name, kind, optional, dv, has));
        }
        return List.copyOf(out);
    }

    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        if (start < s.length()) {
            parts.add(s.substring(start));
        }
        return parts;
    }

    private static Pointer cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        Memory mem = new Memory(b.length + 1L);
        mem.write(0, b, 0, b.length);
        mem.setByte(b.length, (byte) 0);
        return mem;
    }

    @Override
    public String toString() {
        return schema;
    }
}
