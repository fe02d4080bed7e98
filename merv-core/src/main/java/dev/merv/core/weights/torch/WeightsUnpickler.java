package dev.merv.core.weights.torch;

import dev.merv.core.torch.ScalarType;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The restricted unpickler: reads one pickle into plain Java values and never calls anything the
 * pickle names, except the few tensor-rebuilding functions it re-implements itself.
 *
 * <p>What it builds: {@code None} as {@code null}, {@code bool}, {@code int} ({@link Long}, or
 * {@link BigInteger} past 64 bits), {@code float} ({@link Double}), {@code str}, {@code list}
 * ({@link ArrayList}), {@code tuple} ({@link Tuple}), {@code dict} and {@code collections.OrderedDict}
 * ({@link Dict}), storages ({@link StorageRef}, from persistent ids only) and tensors
 * ({@link TensorRef}). The only globals it resolves are {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}, the typed storage
 * classes ({@code torch.FloatStorage}, {@code torch.BFloat16Storage}, ... for the ten dtypes) and
 * {@code torch.UntypedStorage}; any other global is refused, naming it, at the opcode that names it,
 * before anything could use it. The opcodes that build arbitrary objects (INST, OBJ, NEWOBJ,
 * NEWOBJ_EX, EXT1/2/4), text persistent ids, sets, bytes and out-of-band buffers are refused by name;
 * REDUCE only calls the three functions above, BUILD only sets attributes on an OrderedDict (which are
 * then ignored), BINPERSID only accepts {@code ('storage', ...)} ids.
 *
 * <p>Resources are bounded before they are spent: strings and every other length field are checked
 * against the bytes left in the record before allocation ({@link PickleInput}); the value stack, the
 * MARK depth and the memo have fixed caps. Nesting depth, cycles and memo sharing are checked where
 * the result is walked ({@code TorchCheckpoint}), since building them here costs nothing.
 */
final class WeightsUnpickler {

    /** Largest value stack a weights pickle needs (pickle batches containers by 1000 items). */
    static final int MAX_STACK = 1 << 20;
    /** Deepest MARK nesting; Python's pickler recurses per level and stops near 1000. */
    static final int MAX_MARKS = 1000;
    static final int MAX_MEMO = 1 << 22;
    static final long MAX_STRING = 64L << 20;
    private static final int MAX_GLOBAL_LINE = 512;

    /** A Python tuple: immutable, positional. Never hashed or compared by content. */
    static final class Tuple {
        final List<Object> items;

        Tuple(List<Object> items) {
            // not List.copyOf: a tuple may hold None
            this.items = java.util.Collections.unmodifiableList(new ArrayList<>(items));
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** A Python dict or OrderedDict, in insertion order. */
    static final class Dict {
        final Map<Object, Object> items = new LinkedHashMap<>();
        final boolean ordered;

        Dict(boolean ordered) {
            this.ordered = ordered;
        }
    }

    /** One storage of the file: its key, element dtype and element count, as the persistent id gives them. */
    record StorageRef(String key, ScalarType dtype, long numel, boolean typed) {}

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)}: checked where it is used. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** The globals a weights pickle may name. */
    enum Global {
        ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, STORAGE_TYPE;
    }

    /** A resolved global: which one, and for storage classes the element dtype (null: untyped bytes). */
    record GlobalRef(Global kind, String name, ScalarType dtype) {}

    private static final Map<String, GlobalRef> ALLOWED = new HashMap<>();

    static {
        allow(new GlobalRef(Global.ORDERED_DICT, "collections.OrderedDict", null));
        allow(new GlobalRef(Global.REBUILD_TENSOR_V2, "torch._utils._rebuild_tensor_v2", null));
        allow(new GlobalRef(Global.REBUILD_PARAMETER, "torch._utils._rebuild_parameter", null));
        String[][] storages = {{"Float", "FLOAT32"}, {"Double", "FLOAT64"}, {"Half", "FLOAT16"}, {"BFloat16", "BFLOAT16"},
            {"Long", "INT64"}, {"Int", "INT32"}, {"Short", "INT16"}, {"Char", "INT8"}, {"Byte", "UINT8"}, {"Bool", "BOOL"}};
        for (String[] s : storages) {
            allow(new GlobalRef(Global.STORAGE_TYPE, "torch." + s[0] + "Storage", ScalarType.valueOf(s[1])));
        }
        allow(new GlobalRef(Global.STORAGE_TYPE, "torch.UntypedStorage", null));
        ALLOWED.put("torch.storage.UntypedStorage", ALLOWED.get("torch.UntypedStorage"));
    }

    private static void allow(GlobalRef g) {
        ALLOWED.put(g.name(), g);
    }

    /** A refusal or a malformed pickle; the caller adds the file and record. */
    static final class PickleError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PickleError(String message) {
            super(message);
        }
    }

    private final PickleInput in;
    private final Function<Tuple, Object> persistentLoad;
    private final List<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markDepth;
    private final Map<Long, Object> memo = new HashMap<>();
    /** Containers and tensors built: sizes the walk budget of the caller. */
    private long built;

    /** {@code persistentLoad} turns a {@code ('storage', ...)} id into a {@link StorageRef}. */
    WeightsUnpickler(PickleInput in, Function<Tuple, Object> persistentLoad) {
        this.in = in;
        this.persistentLoad = persistentLoad;
    }

    long objectsBuilt() {
        return built;
    }

    /** Reads one pickle up to its STOP opcode and returns its value. */
    Object load() {
        stack.clear();
        markDepth = 0;
        memo.clear();
        while (true) {
            long at = in.position();
            int op;
            try {
                op = in.read();
            } catch (PickleInput.EndOfRecord e) {
                throw new PickleError("the pickle ends without a STOP opcode (truncated?)");
            }
            try {
                if (op == '.') {
                    return pop();
                }
                step(op);
            } catch (PickleError | PickleInput.EndOfRecord e) {
                throw new PickleError("opcode " + opName(op) + " at file byte " + at + ": " + e.getMessage());
            } catch (IllegalStateException e) {
                throw new PickleError("opcode " + opName(op) + " at file byte " + at + ": " + e.getMessage());
            }
        }
    }

    private void step(int op) {
        switch (op) {
            case 0x80: { // PROTO
                int p = in.read();
                if (p < 2 || p > 5) {
                    throw new PickleError("pickle protocol " + p + " (torch.save writes 2; 2 to 5 are read)");
                }
                break;
            }
            case 0x95: { // FRAME: a length hint only
                long n = in.readLittle(8);
                if (n < 0 || n > in.remaining()) {
                    throw new PickleError("frame of " + n + " bytes is past the end of the record");
                }
                break;
            }
            case '(': // MARK
                if (markDepth == MAX_MARKS) {
                    throw new PickleError("more than " + MAX_MARKS + " nested MARK opcodes");
                }
                if (markDepth == marks.length) {
                    marks = java.util.Arrays.copyOf(marks, marks.length * 2);
                }
                marks[markDepth++] = stack.size();
                break;
            case '0': // POP
                if (!stack.isEmpty() && (markDepth == 0 || marks[markDepth - 1] < stack.size())) {
                    pop();
                } else {
                    popMark();
                }
                break;
            case '1': // POP_MARK
                popMark();
                break;
            case '2': // DUP
                push(peek());
                break;
            case 'N':
                push(null);
                break;
            case 0x88:
                push(Boolean.TRUE);
                break;
            case 0x89:
                push(Boolean.FALSE);
                break;
            case 'J': // BININT
                push((long) (int) in.readLittle(4));
                break;
            case 'K': // BININT1
                push((long) in.read());
                break;
            case 'M': // BININT2
                push(in.readLittle(2));
                break;
            case 0x8a: { // LONG1
                int n = in.read();
                push(decodeLong(in.read(n)));
                break;
            }
            case 'G': // BINFLOAT (big-endian)
                push(ByteBuffer.wrap(in.read(8)).order(ByteOrder.BIG_ENDIAN).getDouble());
                break;
            case 'X': // BINUNICODE
                push(utf8(in.readLittle(4)));
                break;
            case 0x8c: // SHORT_BINUNICODE
                push(utf8(in.read()));
                break;
            case 0x8d: // BINUNICODE8
                push(utf8(in.readLittle(8)));
                break;
            case 'U': // SHORT_BINSTRING: a Python 2 str, read as torch.load does (utf-8)
                push(utf8(in.read()));
                break;
            case ']':
                push(newList());
                break;
            case ')':
                push(new Tuple(List.of()));
                break;
            case '}':
                push(newDict(false));
                break;
            case 'l': { // LIST
                List<Object> l = newList();
                l.addAll(popMark());
                push(l);
                break;
            }
            case 't': // TUPLE
                push(tuple(popMark()));
                break;
            case 0x85: // TUPLE1
                push(tuple(listOf(pop())));
                break;
            case 0x86: { // TUPLE2
                Object b = pop();
                Object a = pop();
                push(tuple(listOf(a, b)));
                break;
            }
            case 0x87: { // TUPLE3
                Object c = pop();
                Object b = pop();
                Object a = pop();
                push(tuple(listOf(a, b, c)));
                break;
            }
            case 'd': { // DICT
                List<Object> items = popMark();
                Dict d = newDict(false);
                setItems(d, items);
                push(d);
                break;
            }
            case 'a': { // APPEND
                Object v = pop();
                list(peek(), "APPEND").add(v);
                break;
            }
            case 'e': { // APPENDS
                List<Object> items = popMark();
                list(peek(), "APPENDS").addAll(items);
                break;
            }
            case 's': { // SETITEM
                Object v = pop();
                Object k = pop();
                setItems(dict(peek(), "SETITEM"), listOf(k, v));
                break;
            }
            case 'u': { // SETITEMS
                List<Object> items = popMark();
                setItems(dict(peek(), "SETITEMS"), items);
                break;
            }
            case 'h': // BINGET
                push(memoGet(in.read()));
                break;
            case 'j': // LONG_BINGET
                push(memoGet(in.readLittle(4)));
                break;
            case 'q': // BINPUT
                memoPut(in.read());
                break;
            case 'r': // LONG_BINPUT
                memoPut(in.readLittle(4));
                break;
            case 0x94: // MEMOIZE
                memoPut(memo.size());
                break;
            case 'c': { // GLOBAL
                String module = ascii(in.readLine(MAX_GLOBAL_LINE));
                String name = ascii(in.readLine(MAX_GLOBAL_LINE));
                push(resolve(module, name));
                break;
            }
            case 0x93: { // STACK_GLOBAL
                Object name = pop();
                Object module = pop();
                if (!(module instanceof String) || !(name instanceof String)) {
                    throw new PickleError("module and name must be strings, got " + typeName(module) + " and " + typeName(name));
                }
                push(resolve((String) module, (String) name));
                break;
            }
            case 'R': { // REDUCE
                Object args = pop();
                Object func = pop();
                push(reduce(func, args));
                break;
            }
            case 'b': { // BUILD
                Object state = pop();
                Object inst = peek();
                if (!(inst instanceof Dict) || !((Dict) inst).ordered) {
                    throw new PickleError("BUILD on a " + typeName(inst) + " is not allowed (only an OrderedDict's attributes)");
                }
                if (state != null && !(state instanceof Dict)) {
                    throw new PickleError("BUILD state for an OrderedDict must be a dict, got " + typeName(state));
                }
                // the attributes (a state dict's _metadata) carry no tensors: ignored
                break;
            }
            case 'Q': { // BINPERSID
                Object pid = pop();
                if (!(pid instanceof Tuple) || ((Tuple) pid).size() == 0 || !"storage".equals(((Tuple) pid).get(0))) {
                    throw new PickleError("persistent id " + describe(pid) + " is not a ('storage', ...) id");
                }
                push(persistentLoad.apply((Tuple) pid));
                break;
            }
            default:
                throw new PickleError("not allowed in a weights-only checkpoint");
        }
    }

    private Object resolve(String module, String name) {
        GlobalRef g = ALLOWED.get(module + "." + name);
        if (g == null) {
            throw new PickleError("global " + module + "." + name + " is not allowed (a weights-only checkpoint may name only"
                    + " collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the"
                    + " torch storage classes)");
        }
        return g;
    }

    private Object reduce(Object func, Object argsObj) {
        if (!(func instanceof GlobalRef)) {
            throw new PickleError("REDUCE calls a " + typeName(func) + ", not an allowed function");
        }
        GlobalRef g = (GlobalRef) func;
        if (!(argsObj instanceof Tuple)) {
            throw new PickleError("REDUCE arguments for " + g.name() + " must be a tuple, got " + typeName(argsObj));
        }
        Tuple args = (Tuple) argsObj;
        switch (g.kind()) {
            case ORDERED_DICT: {
                Dict d = newDict(true);
                if (args.size() == 1 && args.get(0) instanceof List) {
                    for (Object pair : (List<?>) args.get(0)) {
                        if (!(pair instanceof Tuple) || ((Tuple) pair).size() != 2) {
                            throw new PickleError("OrderedDict items must be pairs, got " + typeName(pair));
                        }
                        setItems(d, listOf(((Tuple) pair).get(0), ((Tuple) pair).get(1)));
                    }
                } else if (args.size() != 0) {
                    throw new PickleError("OrderedDict takes no arguments or one list of pairs, got " + args.size());
                }
                return d;
            }
            case REBUILD_TENSOR_V2: {
                if (args.size() != 6 && args.size() != 7) {
                    throw new PickleError("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + args.size());
                }
                if (!(args.get(0) instanceof StorageRef)) {
                    throw new PickleError("_rebuild_tensor_v2 needs a storage, got " + typeName(args.get(0)));
                }
                long offset = exactLong(args.get(1), "storage offset");
                long[] size = longs(args.get(2), "size");
                long[] stride = longs(args.get(3), "stride");
                if (size.length != stride.length) {
                    throw new PickleError("size has " + size.length + " dimensions but stride " + stride.length);
                }
                if (!(args.get(4) instanceof Boolean)) {
                    throw new PickleError("requires_grad must be a bool, got " + typeName(args.get(4)));
                }
                if (args.size() == 7 && args.get(6) != null
                        && !(args.get(6) instanceof Dict && ((Dict) args.get(6)).items.isEmpty())) {
                    throw new PickleError("tensor metadata " + describe(args.get(6)) + " is not supported");
                }
                built++;
                return new TensorRef((StorageRef) args.get(0), offset, size, stride);
            }
            case REBUILD_PARAMETER: {
                if (args.size() != 3 || !(args.get(0) instanceof TensorRef)) {
                    throw new PickleError("_rebuild_parameter takes (tensor, requires_grad, hooks), got " + args.size()
                            + " arguments starting with " + (args.size() == 0 ? "nothing" : typeName(args.get(0))));
                }
                return args.get(0);
            }
            default:
                throw new PickleError("calling " + g.name() + " is not allowed (it may only appear in a storage id)");
        }
    }

    private static long exactLong(Object o, String what) {
        if (o instanceof Long) {
            return (Long) o;
        }
        if (o instanceof BigInteger) {
            throw new PickleError(what + " " + o + " does not fit in 64 bits (overflow)");
        }
        throw new PickleError(what + " must be an int, got " + typeName(o));
    }

    private static long[] longs(Object o, String what) {
        List<Object> items;
        if (o instanceof Tuple) {
            items = ((Tuple) o).items;
        } else if (o instanceof List) {
            @SuppressWarnings("unchecked")
            List<Object> l = (List<Object>) o;
            items = l;
        } else {
            throw new PickleError(what + " must be a tuple of ints, got " + typeName(o));
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = exactLong(items.get(i), what + "[" + i + "]");
        }
        return out;
    }

    private void setItems(Dict d, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw new PickleError("odd number of items (" + items.size() + ") for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            Object k = items.get(i);
            if (!(k == null || k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Boolean
                    || k instanceof Double)) {
                throw new PickleError("dict key of type " + typeName(k) + " is not allowed (str, int, float, bool or None)");
            }
            d.items.put(k, items.get(i + 1));
        }
    }

    private static List<Object> list(Object o, String op) {
        if (!(o instanceof ArrayList)) {
            throw new PickleError(op + " needs a list, got " + typeName(o));
        }
        @SuppressWarnings("unchecked")
        List<Object> l = (List<Object>) o;
        return l;
    }

    private static Dict dict(Object o, String op) {
        if (!(o instanceof Dict)) {
            throw new PickleError(op + " needs a dict, got " + typeName(o));
        }
        return (Dict) o;
    }

    private List<Object> newList() {
        built++;
        return new ArrayList<>();
    }

    private Dict newDict(boolean ordered) {
        built++;
        return new Dict(ordered);
    }

    private Tuple tuple(List<Object> items) {
        built++;
        return new Tuple(items);
    }

    private static List<Object> listOf(Object... items) {
        List<Object> l = new ArrayList<>(items.length);
        java.util.Collections.addAll(l, items);
        return l;
    }

    private Object memoGet(long i) {
        Object v = memo.get(i);
        if (v == null && !memo.containsKey(i)) {
            throw new PickleError("memo entry " + i + " was never stored");
        }
        return v;
    }

    private void memoPut(long i) {
        if (memo.size() >= MAX_MEMO && !memo.containsKey(i)) {
            throw new PickleError("more than " + MAX_MEMO + " memo entries");
        }
        memo.put(i, peek());
    }

    private String utf8(long n) {
        if (n < 0 || n > MAX_STRING) {
            throw new PickleError("string of " + Long.toUnsignedString(n) + " bytes is past the end of the record or"
                    + " over the " + MAX_STRING + "-byte limit");
        }
        byte[] b = in.read(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new PickleError("string is not valid UTF-8");
        }
    }

    private static String ascii(byte[] b) {
        for (byte x : b) {
            if (x < 0x20 || x > 0x7e) {
                throw new PickleError("GLOBAL names must be printable ASCII");
            }
        }
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static Object decodeLong(byte[] le) {
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw new PickleError("value stack over " + MAX_STACK + " entries");
        }
        stack.add(o);
    }

    private Object pop() {
        int floor = markDepth == 0 ? 0 : marks[markDepth - 1];
        if (stack.size() <= floor) {
            throw new PickleError("value stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        int floor = markDepth == 0 ? 0 : marks[markDepth - 1];
        if (stack.size() <= floor) {
            throw new PickleError("value stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (markDepth == 0) {
            throw new PickleError("no MARK on the stack");
        }
        int from = marks[--markDepth];
        List<Object> sub = stack.subList(from, stack.size());
        List<Object> items = new ArrayList<>(sub);
        sub.clear();
        return items;
    }

    /** Python's name for a value's type, for messages (never the value itself, which may be huge or cyclic). */
    static String typeName(Object o) {
        if (o == null) {
            return "NoneType";
        }
        if (o instanceof Boolean) {
            return "bool";
        }
        if (o instanceof Long || o instanceof BigInteger) {
            return "int";
        }
        if (o instanceof Double) {
            return "float";
        }
        if (o instanceof String) {
            return "str";
        }
        if (o instanceof List) {
            return "list";
        }
        if (o instanceof Tuple) {
            return "tuple";
        }
        if (o instanceof Dict) {
            return ((Dict) o).ordered ? "OrderedDict" : "dict";
        }
        if (o instanceof StorageRef) {
            return ((StorageRef) o).typed() ? "TypedStorage" : "UntypedStorage";
        }
        if (o instanceof TensorRef) {
            return "Tensor";
        }
        if (o instanceof GlobalRef) {
            return ((GlobalRef) o).name();
        }
        return o.getClass().getSimpleName();
    }

    /** A short rendering of a scalar or the type of a container. */
    static String describe(Object o) {
        if (o instanceof String) {
            String s = (String) o;
            return "'" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
        }
        if (o == null) {
            return "None";
        }
        if (o instanceof Boolean) {
            return (Boolean) o ? "True" : "False";
        }
        if (o instanceof Long || o instanceof BigInteger || o instanceof Double) {
            return o.toString();
        }
        if (o instanceof Tuple) {
            return ((Tuple) o).size() == 0 ? "()" : "a tuple of " + ((Tuple) o).size();
        }
        if (o instanceof List) {
            return ((List<?>) o).isEmpty() ? "[]" : "a list of " + ((List<?>) o).size();
        }
        if (o instanceof Dict) {
            Dict d = (Dict) o;
            return d.items.isEmpty() ? (d.ordered ? "OrderedDict()" : "{}")
                    : "a" + (d.ordered ? "n OrderedDict" : " dict") + " of " + d.items.size();
        }
        return typeName(o);
    }

    private static final Map<Integer, String> OPCODES = new HashMap<>();

    static {
        String[] names = {"MARK(", "STOP.", "POP0", "POP_MARK1", "DUP2", "FLOATF", "INTI", "BININTJ", "BININT1K", "LONGL",
            "BININT2M", "NONEN", "PERSIDP", "BINPERSIDQ", "REDUCER", "STRINGS", "BINSTRINGT", "SHORT_BINSTRINGU",
            "UNICODEV", "BINUNICODEX", "APPENDa", "BUILDb", "GLOBALc", "DICTd", "EMPTY_DICT}", "APPENDSe", "GETg",
            "BINGETh", "INSTi", "LONG_BINGETj", "LISTl", "EMPTY_LIST]", "OBJo", "PUTp", "BINPUTq", "LONG_BINPUTr",
            "SETITEMs", "TUPLEt", "EMPTY_TUPLE)", "SETITEMSu", "BINFLOATG", "BINBYTESB", "SHORT_BINBYTESC"};
        for (String n : names) {
            OPCODES.put((int) n.charAt(n.length() - 1), n.substring(0, n.length() - 1));
        }
        String[] high = {"PROTO", "NEWOBJ", "EXT1", "EXT2", "EXT4", "TUPLE1", "TUPLE2", "TUPLE3", "NEWTRUE", "NEWFALSE",
            "LONG1", "LONG4", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES8", "EMPTY_SET", "ADDITEMS", "FROZENSET",
            "NEWOBJ_EX", "STACK_GLOBAL", "MEMOIZE", "FRAME", "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"};
        for (int i = 0; i < high.length; i++) {
            OPCODES.put(0x80 + i, high[i]);
        }
    }

    static String opName(int op) {
        String n = OPCODES.get(op);
        return (n == null ? "unknown" : n) + String.format(" (0x%02x)", op);
    }
}
