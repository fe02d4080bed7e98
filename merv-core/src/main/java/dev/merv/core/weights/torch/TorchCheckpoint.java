package dev.merv.core.weights.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.TensorBytes;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightFormatException;
import dev.merv.core.weights.WeightSource;
import dev.merv.core.weights.torch.WeightsUnpickler.Dict;
import dev.merv.core.weights.torch.WeightsUnpickler.Global;
import dev.merv.core.weights.torch.WeightsUnpickler.GlobalRef;
import dev.merv.core.weights.torch.WeightsUnpickler.PickleError;
import dev.merv.core.weights.torch.WeightsUnpickler.StorageRef;
import dev.merv.core.weights.torch.WeightsUnpickler.TensorRef;
import dev.merv.core.weights.torch.WeightsUnpickler.Tuple;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A file written by {@code torch.save}, read as {@code torch.load(weights_only=True)} would, without
 * running any of it: the zip format (PyTorch 1.6 and later: {@code <folder>/data.pkl},
 * {@code <folder>/data/<key>} storages, {@code byteorder}, {@code version}, any folder name) and the
 * legacy format (magic number, protocol, system info, pickle, storage keys, raw storages).
 *
 * <p>Every tensor of the pickled object is named by its path of dict keys and list/tuple indices
 * joined with {@code .} ({@code model.projectors.0.projector.projector.weight}); a tensor at the root
 * is named {@code tensor}. Everything else (ints, strings, empty containers, bare storages) is listed
 * by {@link #values()} and otherwise ignored. Tensors keep their storage dtype (fp32, fp16, bf16,
 * fp64, int64, int32, int16, int8, uint8, bool); views (offsets, strides, transposes, a tensor and a
 * slice of it sharing one storage, 0-d and empty tensors) load as contiguous tensors equal to what
 * torch returns.
 *
 * <p>Everything is checked at {@link #open}, before any tensor memory is allocated: the archive's
 * directory and records against the file size, the pickle by {@link WeightsUnpickler} (only plain
 * containers and the tensor-rebuild globals), each storage record against the element count its id
 * claims, and each tensor's size, stride and offset against its storage. A failure is a
 * {@link WeightFormatException} naming the file and the record or tensor. Storage bytes are then read
 * straight into native tensors ({@link TensorBytes}); a strided view is read as the span of its
 * storage it covers and made contiguous natively.
 */
public final class TorchCheckpoint implements WeightSource, AutoCloseable {

    /** Which torch.save layout the file has. */
    public enum Format { ZIP, LEGACY }

    /** A non-tensor leaf of the pickled object: its path, Python type name and a short rendering. */
    public record Value(String path, String type, String text) {}

    /** Deepest container nesting walked; Python's pickler itself recurses per level and stops near 1000. */
    static final int MAX_DEPTH = 1000;
    /** Largest pickle read (a state dict's pickle is a few hundred bytes per tensor). */
    static final long MAX_PICKLE = 1L << 30;

    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950A86A20F9469CFC6C", 16);
    private static final long LEGACY_PROTOCOL = 1001;

    /** A storage and where its element 0 lies in the file. */
    private record Storage(StorageRef ref, String record, long start) {}

    /** A checked tensor of the file. */
    private record Tensor(String name, Storage storage, long offset, long[] size, long[] stride, long numel, long span,
            boolean contiguous) {
        ScalarType dtype() {
            return storage.ref().dtype();
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final Format format;
    private final Map<String, Tensor> tensors;
    private final Map<String, TensorInfo> infos;
    private final List<Value> values;

    private TorchCheckpoint(Path file, FileChannel channel, Format format, Map<String, Tensor> tensors, List<Value> values) {
        this.file = file;
        this.channel = channel;
        this.format = format;
        this.tensors = tensors;
        this.values = values;
        Map<String, TensorInfo> in = new LinkedHashMap<>();
        tensors.forEach((n, t) -> in.put(n, new TensorInfo(n, SafeTensors.nameOf(t.dtype()), t.dtype(), t.size().clone(), 0,
                t.numel() * t.dtype().bytes())));
        this.infos = Collections.unmodifiableMap(in);
    }

    /** Opens and checks {@code file}; throws {@link WeightFormatException} naming the file and record or tensor. */
    public static TorchCheckpoint open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new WeightFormatException(file, null, "cannot open: " + e, e);
        }
        try {
            long size = ch.size();
            if (size == 0) {
                throw new WeightFormatException(file, null, "empty file");
            }
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(4, size));
            TensorBytes.readFully(ch, head, 0);
            byte[] h = head.array();
            Reader r = new Reader(file, ch, size);
            Object root;
            Format format;
            if (h.length == 4 && h[0] == 'P' && h[1] == 'K' && h[2] == 3 && h[3] == 4) {
                format = Format.ZIP;
                root = r.readZip();
            } else if ((h[0] & 0xFF) == 0x80) {
                format = Format.LEGACY;
                root = r.readLegacy();
            } else {
                throw new WeightFormatException(file, null, "neither a zip archive (torch.save since PyTorch 1.6) nor a"
                        + " legacy torch.save file (it starts with bytes " + hex(h) + ")");
            }
            Walker w = new Walker(file, r.storages, r.budget());
            w.walk(root, "", 0);
            return new TorchCheckpoint(file, ch, format, Collections.unmodifiableMap(w.tensors),
                    Collections.unmodifiableList(w.values));
        } catch (IOException | UncheckedIOException e) {
            closeQuietly(ch);
            throw new WeightFormatException(file, null, "read failed: " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /** Reads the archive or legacy stream into the pickled object and its resolved storages. */
    private static final class Reader {
        final Path file;
        final FileChannel ch;
        final long size;
        final Map<String, StorageRef> refs = new LinkedHashMap<>();
        final Map<String, Storage> storages = new LinkedHashMap<>();
        long built;

        Reader(Path file, FileChannel ch, long size) {
            this.file = file;
            this.ch = ch;
            this.size = size;
        }

        long budget() {
            return Math.max(1L << 20, 16 * built);
        }

        WeightFormatException fail(String where, String message) {
            return new WeightFormatException(file, null, (where == null ? "" : where + ": ") + message);
        }

        Object readZip() throws IOException {
            ZipDirectory zip;
            try {
                zip = ZipDirectory.read(ch);
            } catch (IllegalStateException e) {
                throw fail(null, e.getMessage());
            }
            List<String> pickles = new ArrayList<>();
            for (String n : zip.entries().keySet()) {
                int slash = n.indexOf('/');
                if (n.endsWith("/data.pkl") && slash == n.length() - "/data.pkl".length()) {
                    pickles.add(n);
                }
            }
            if (pickles.size() != 1) {
                throw fail(null, pickles.isEmpty()
                        ? "no <folder>/data.pkl record: a zip archive, but not one written by torch.save"
                        : "several data.pkl records " + pickles + ": ambiguous archive");
            }
            String prefix = pickles.get(0).substring(0, pickles.get(0).length() - "data.pkl".length());
            try {
                if (zip.entries().containsKey(prefix + "byteorder")) {
                    String order = new String(zip.readSmall(prefix + "byteorder", 16), StandardCharsets.US_ASCII);
                    if (!order.equals("little")) {
                        throw fail("record '" + prefix + "byteorder'", "byte order '" + order
                                + "' (only little-endian checkpoints are read)");
                    }
                }
                for (String v : List.of(prefix + ".data/version", prefix + "version")) {
                    if (zip.entries().containsKey(v)) {
                        String ver = new String(zip.readSmall(v, 32), StandardCharsets.US_ASCII).trim();
                        if (!ver.matches("[0-9]{1,4}")) {
                            throw fail("record '" + v + "'", "format version '" + ver + "' is not a number");
                        }
                    }
                }
                ZipDirectory.Range pkl = zip.range(prefix + "data.pkl");
                if (pkl.size() > MAX_PICKLE) {
                    throw fail("record '" + prefix + "data.pkl'", pkl.size() + " bytes is over the " + MAX_PICKLE
                            + "-byte pickle limit");
                }
                Object root = unpickle("record '" + prefix + "data.pkl'", new PickleInput(ch, pkl.start(), pkl.end()),
                        id -> storageId(id, 5));
                for (StorageRef s : refs.values()) {
                    String rec = prefix + "data/" + s.key();
                    ZipDirectory.Range r = zip.range(rec);
                    long want = bytes(s, rec);
                    if (r.size() != want) {
                        throw fail("storage '" + s.key() + "'", s.numel() + " elements of " + s.dtype() + " need " + want
                                + " bytes but record '" + rec + "' holds " + r.size());
                    }
                    storages.put(s.key(), new Storage(s, rec, r.start()));
                }
                return root;
            } catch (IllegalStateException e) {
                throw fail(null, e.getMessage());
            }
        }

        Object readLegacy() throws IOException {
            PickleInput in = new PickleInput(ch, 0, size);
            Function<Tuple, Object> noIds = id -> {
                throw new PickleError("a persistent id outside the main pickle");
            };
            Object magic = unpickle("legacy magic-number pickle", in, noIds);
            if (!LEGACY_MAGIC.equals(magic instanceof Long ? BigInteger.valueOf((Long) magic) : magic)) {
                throw fail(null, "not a torch.save file: bad magic number " + WeightsUnpickler.describe(magic));
            }
            Object proto = unpickle("legacy protocol pickle", in, noIds);
            if (!Long.valueOf(LEGACY_PROTOCOL).equals(proto)) {
                throw fail(null, "legacy protocol version " + WeightsUnpickler.describe(proto) + " (expected "
                        + LEGACY_PROTOCOL + ")");
            }
            Object sys = unpickle("legacy system-info pickle", in, noIds);
            if (sys instanceof Dict && Boolean.FALSE.equals(((Dict) sys).items.get("little_endian"))) {
                throw fail(null, "written on a big-endian machine (only little-endian checkpoints are read)");
            }
            long mainAt = in.position();
            Object root = unpickle("legacy main pickle at byte " + mainAt, in, id -> storageId(id, 6));
            Object keys = unpickle("legacy storage-key pickle", in, noIds);
            if (!(keys instanceof List)) {
                throw fail(null, "the storage-key pickle holds a " + WeightsUnpickler.typeName(keys) + ", not a list");
            }
            long pos = in.position();
            for (Object k : (List<?>) keys) {
                if (!(k instanceof String)) {
                    throw fail(null, "storage key of type " + WeightsUnpickler.typeName(k));
                }
                StorageRef s = refs.get(k);
                String where = "legacy storage '" + k + "'";
                if (s == null) {
                    throw fail(where, "listed in the file but used by no tensor");
                }
                if (storages.containsKey(k)) {
                    throw fail(where, "listed twice");
                }
                if (pos + 8 > size) {
                    throw fail(where, "its header at byte " + pos + " is past the end of the file (" + size
                            + " bytes; truncated?)");
                }
                ByteBuffer n = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                TensorBytes.readFully(ch, n, pos);
                long numel = n.getLong(0);
                long bytes;
                try {
                    bytes = Math.multiplyExact(numel, (long) s.dtype().bytes());
                } catch (ArithmeticException e) {
                    bytes = Long.MAX_VALUE;
                }
                if (numel < 0 || bytes > size - pos - 8) {
                    throw fail(where, "claims " + numel + " elements of " + s.dtype() + " at byte " + (pos + 8)
                            + ", past the end of the file (" + size + " bytes; truncated?)");
                }
                if (numel != s.numel()) {
                    throw fail(where, "its header says " + numel + " elements, the pickle says " + s.numel());
                }
                storages.put((String) k, new Storage(s, where, pos + 8));
                pos += 8 + bytes;
            }
            for (String k : refs.keySet()) {
                if (!storages.containsKey(k)) {
                    throw fail("legacy storage '" + k + "'", "used by a tensor but not stored in the file");
                }
            }
            return root;
        }

        private Object unpickle(String where, PickleInput in, Function<Tuple, Object> ids) {
            WeightsUnpickler u = new WeightsUnpickler(in, ids);
            try {
                Object v = u.load();
                built += u.objectsBuilt();
                return v;
            } catch (PickleError e) {
                throw fail(where, e.getMessage());
            }
        }

        /** A {@code ('storage', type, key, location, numel[, view])} id as a storage of this file. */
        private Object storageId(Tuple id, int arity) {
            if (id.size() != arity) {
                throw new PickleError("storage id has " + id.size() + " fields, expected " + arity);
            }
            Object type = id.get(1);
            if (!(type instanceof GlobalRef) || ((GlobalRef) type).kind() != Global.STORAGE_TYPE) {
                throw new PickleError("storage id names " + WeightsUnpickler.typeName(type) + ", not a storage class");
            }
            if (!(id.get(2) instanceof String) || !(id.get(3) instanceof String)) {
                throw new PickleError("storage key and location must be strings");
            }
            String key = (String) id.get(2);
            if (!(id.get(4) instanceof Long) || (Long) id.get(4) < 0) {
                throw new PickleError("storage '" + key + "' size " + WeightsUnpickler.describe(id.get(4))
                        + " is not a non-negative 64-bit int");
            }
            if (arity == 6 && id.get(5) != null) {
                throw new PickleError("storage '" + key + "' is a legacy storage view (PyTorch < 0.4), not supported");
            }
            ScalarType dt = ((GlobalRef) type).dtype();
            StorageRef s = new StorageRef(key, dt == null ? ScalarType.UINT8 : dt, (Long) id.get(4), dt != null);
            StorageRef prev = refs.putIfAbsent(key, s);
            if (prev != null && !prev.equals(s)) {
                throw new PickleError("storage '" + key + "' is used as " + prev.numel() + " x " + prev.dtype() + " and as "
                        + s.numel() + " x " + s.dtype());
            }
            return prev != null ? prev : s;
        }

        private long bytes(StorageRef s, String record) {
            try {
                return Math.multiplyExact(s.numel(), (long) s.dtype().bytes());
            } catch (ArithmeticException e) {
                throw fail("storage '" + s.key() + "'", s.numel() + " elements overflow 64-bit sizes (record '" + record + "')");
            }
        }
    }

    /** Names every tensor by its path and checks it against its storage; lists the other leaves. */
    private static final class Walker {
        final Path file;
        final Map<String, Storage> storages;
        final long budget;
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final List<Value> values = new ArrayList<>();
        final Set<Object> onPath = Collections.newSetFromMap(new IdentityHashMap<>());
        long visits;

        Walker(Path file, Map<String, Storage> storages, long budget) {
            this.file = file;
            this.storages = storages;
            this.budget = budget;
        }

        void walk(Object v, String path, int depth) {
            if (++visits > budget) {
                throw new WeightFormatException(file, null, "the pickled object is shared so often that walking it visits"
                        + " more than " + budget + " values (memo abuse?), at '" + path + "'");
            }
            if (depth > MAX_DEPTH) {
                throw new WeightFormatException(file, null, "containers are nested deeper than " + MAX_DEPTH
                        + " levels, at '" + abbreviate(path) + "'");
            }
            if (v instanceof TensorRef) {
                add(path.isEmpty() ? "tensor" : path, (TensorRef) v);
                return;
            }
            boolean container = v instanceof Dict && !((Dict) v).items.isEmpty()
                    || v instanceof List && !((List<?>) v).isEmpty()
                    || v instanceof Tuple && ((Tuple) v).size() > 0;
            if (!container) {
                values.add(new Value(path, WeightsUnpickler.typeName(v), WeightsUnpickler.describe(v)));
                return;
            }
            if (!onPath.add(v)) {
                throw new WeightFormatException(file, null, "the " + WeightsUnpickler.typeName(v) + " at '" + abbreviate(path)
                        + "' contains itself");
            }
            if (v instanceof Dict) {
                for (Map.Entry<Object, Object> e : ((Dict) v).items.entrySet()) {
                    walk(e.getValue(), join(path, keyName(e.getKey())), depth + 1);
                }
            } else {
                List<?> items = v instanceof Tuple ? ((Tuple) v).items : (List<?>) v;
                for (int i = 0; i < items.size(); i++) {
                    walk(items.get(i), join(path, Integer.toString(i)), depth + 1);
                }
            }
            onPath.remove(v);
        }

        private void add(String name, TensorRef r) {
            Storage s = storages.get(r.storage().key());
            if (s == null) {
                throw new WeightFormatException(file, name, "its storage '" + r.storage().key() + "' was not resolved");
            }
            long[] size = r.size();
            long[] stride = r.stride();
            String shape = "size " + Arrays.toString(size) + ", stride " + Arrays.toString(stride) + ", offset " + r.offset();
            for (int i = 0; i < size.length; i++) {
                if (size[i] < 0 || stride[i] < 0) {
                    throw new WeightFormatException(file, name, "negative size or stride (" + shape + ")");
                }
            }
            if (r.offset() < 0) {
                throw new WeightFormatException(file, name, "negative storage offset (" + shape + ")");
            }
            long numel = 1;
            long last = r.offset();
            try {
                for (int i = 0; i < size.length; i++) {
                    numel = Math.multiplyExact(numel, size[i]);
                }
                for (int i = 0; i < size.length; i++) {
                    if (size[i] > 0) {
                        last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
                    }
                }
            } catch (ArithmeticException e) {
                throw new WeightFormatException(file, name, "element count or extent overflows 64 bits (" + shape + ")");
            }
            long storageNumel = r.storage().numel();
            if (numel > 0 && last >= storageNumel) {
                throw new WeightFormatException(file, name, shape + " reaches element " + last + ", past its storage of "
                        + storageNumel + " elements (" + s.record() + ")");
            }
            boolean contiguous = true;
            long expect = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                if (size[i] != 1 && stride[i] != expect) {
                    contiguous = false;
                }
                expect *= size[i] == 0 ? 1 : size[i];
            }
            if (numel == 0) {
                contiguous = true;
            }
            long span = numel == 0 ? 0 : last - r.offset() + 1;
            if (tensors.put(name, new Tensor(name, s, r.offset(), size.clone(), stride.clone(), numel, span, contiguous))
                    != null) {
                throw new WeightFormatException(file, name, "two tensors have this name (paths are joined with '.')");
            }
        }

        private static String join(String path, String key) {
            return path.isEmpty() ? key : path + "." + key;
        }

        private static String keyName(Object k) {
            if (k == null) {
                return "None";
            }
            if (k instanceof Boolean) {
                return (Boolean) k ? "True" : "False";
            }
            return k.toString();
        }

        private static String abbreviate(String path) {
            return path.length() > 120 ? path.substring(0, 60) + "..." + path.substring(path.length() - 40) : path;
        }
    }

    @Override
    public String describe() {
        return file.toString();
    }

    public Path file() {
        return file;
    }

    public Format format() {
        return format;
    }

    @Override
    public Set<String> names() {
        return infos.keySet();
    }

    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) {
            throw new WeightFormatException(file, name, "no such tensor (file has " + infos.size() + ")");
        }
        return t;
    }

    /** Every tensor's entry, in the order the pickle holds them. */
    public Map<String, TensorInfo> tensors() {
        return infos;
    }

    /** The non-tensor leaves, in the order the pickle holds them. */
    public List<Value> values() {
        return values;
    }

    /** Loads a tensor in its stored dtype, contiguous, owned by {@code manager}. */
    public NDArray load(String name, NDManager manager) {
        return load(name, manager, null);
    }

    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        info(name);
        Tensor t = tensors.get(name);
        long elem = t.dtype().bytes();
        long at = t.storage().start() + t.offset() * elem;
        NDArray dst;
        try {
            if (t.contiguous()) {
                dst = TensorBytes.read(channel, at, t.dtype(), t.size(), manager);
            } else {
                try (NDManager scope = manager.newSubManager()) {
                    // the span of storage the view covers, then the view over it made dense natively
                    NDArray span = TensorBytes.read(channel, at, t.dtype(), new long[] {t.span()}, scope);
                    NDArray view = Torch.asStrided(span, t.size(), t.stride(), 0);
                    dst = Torch.contiguous(view);
                    dst.attach(manager);
                }
            }
        } catch (IOException e) {
            throw new WeightFormatException(file, name, "read failed (file changed or truncated after open?): " + e, e);
        }
        if (as == null || as == t.dtype()) {
            return dst;
        }
        try (NDArray stored = dst) {
            return Torch.copy(stored, as);
        }
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the original failure is what the caller needs to see
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
